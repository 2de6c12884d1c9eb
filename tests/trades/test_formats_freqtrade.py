"""trades.ingest.formats.freqtrade: rows of a freqtrade database → canonical items (pure)."""

from decimal import Decimal

import pytest

from core.errors import TradebookError
from tests.trades.test_import_freqtrade import ORDER_ROWS, TRADE_ROWS, build
from trades.ingest.formats import freqtrade


def test_each_trade_gives_open_fills_close():
    items, sources = freqtrade.translate(TRADE_ROWS, ORDER_ROWS)
    assert [(i["type"], i["id"]) for i in items] == [
        ("trade.open", "ft-1"), ("fill", "ft-order-8812001"), ("fill", "ft-order-8812377"), ("trade.close", "ft-1"),
        ("trade.open", "ft-2"), ("fill", "ft-order-9900001"),
    ]
    assert sources == [1, 1, 1, 1, 2, 2]
    opening, entry, exit_, closing = items[:4]
    assert opening["entry_price"] == Decimal("42000.5") and opening["sl_price"] == Decimal("39900.47")
    assert opening["entry_fee"] == Decimal("1.0500125") and opening["bot"] == "freqtrade:SampleStrategy"
    assert entry["fee"] == Decimal("1.0500125") and exit_["fee"] == Decimal("1.07625625")
    assert closing["exit_fee"] == Decimal("1.07625625") and closing["reported_pnl"] == Decimal("22.94")
    assert items[4]["side"] == "short" and items[5]["side"] == "sell"


def test_a_bot_given_overrides_the_strategy():
    items, _ = freqtrade.translate(TRADE_ROWS[:1], [], bot="ft:main")
    assert {i.get("bot") for i in items} == {"ft:main"}


def test_a_trade_without_open_rate_is_named():
    bad = [dict(TRADE_ROWS[0], open_rate=None)]
    with pytest.raises(TradebookError) as caught:
        freqtrade.translate(bad, [])
    assert caught.value.errors[0]["index"] == 0 and caught.value.errors[0]["field"] == "open_rate"


def test_load_reads_both_tables(tmp_path):
    trades, orders = freqtrade.load(build(tmp_path / "t.sqlite"))
    assert [t["id"] for t in trades] == [1, 2] and len(orders) == 4
    trades, orders = freqtrade.load(build(tmp_path / "old.sqlite", orders=None))
    assert orders == []
