"""trades.ingest.formats.ccxt: CCXT unified structures → canonical items (pure)."""

import copy
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from core.errors import TradebookError
from tests.api.test_native_ccxt import BALANCE, ORDERS, POSITIONS, TRADES
from trades.ingest.formats import ccxt

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def translate(payload):
    out, account = ccxt.translate(payload, now=NOW)
    return out.items, account


def test_trades_with_one_fee_and_with_several():
    (one, several), account = translate(TRADES)
    assert account is None
    assert (one["fee"], one["fee_currency"], one["is_maker"], one["order_id"]) == (0.05172635, "USDT", False,
                                                                                  "1700000000012345")
    assert "fees" not in one and one["executed_at"] == 1746270400353
    assert several["fees"] == [{"amount": 0.019, "currency": "USDT"}, {"amount": 1e-07, "currency": "BNB"}]
    assert "fee" not in several and several["is_maker"] is True


def test_a_trade_with_only_a_datetime():
    trade = dict(TRADES["trades"][0], timestamp=None)
    (fill,), _ = translate({"trades": [trade]})
    assert fill["executed_at"] == "2025-05-03T11:06:40.353Z"


@pytest.mark.parametrize("status, filled, ours", [("open", 0, "new"), ("open", Decimal("0.5"), "partially_filled"),
                                                  ("closed", 1, "filled"), ("canceled", Decimal("0.2"), "canceled"),
                                                  ("expired", 0, "expired"), ("rejected", 0, "rejected")])
def test_order_statuses(status, filled, ours):
    order = dict(ORDERS["orders"][1], status=status, filled=filled)
    (item,), _ = translate({"orders": [order]})
    assert item["status"] == ours and item["meta"]["ccxt_status"] == status


def test_positions_flat_when_no_contracts():
    (btc, eth), _ = translate(POSITIONS)
    assert (btc["side"], btc["size"], btc["liq_price"]) == ("long", Decimal("0.001"), 85105.3)
    assert (eth["side"], eth["size"]) == ("flat", 0) and "entry_price" not in eth


def test_balance_one_wallet_per_known_coin():
    items, _ = translate(BALANCE)
    assert [(w["coin"], w["wallet_balance"], w.get("available_balance")) for w in items] == [
        ("USDT", 10093.2, 10083.7), ("BTC", 0.00104, 0.00104)]
    balance = copy.deepcopy(BALANCE)
    balance["balance"]["timestamp"] = None
    balance["balance"]["datetime"] = None
    items, _ = translate(balance)
    assert items[0]["exchange_ts"] == NOW.isoformat()


def test_it_returns_the_named_account():
    assert translate({**TRADES, "account": "bravo"})[1] == "bravo"
    with pytest.raises(TradebookError):
        translate([{**TRADES, "account": "a"}, {**ORDERS, "account": "b"}])


@pytest.mark.parametrize("payload, index, field", [
    ({"tickers": []}, None, "tickers"),
    ({}, None, None),
    ({"trades": {}}, None, "trades"),
    ({"trades": ["x"]}, 0, "trades[0]"),
    ({"orders": [dict(ORDERS["orders"][0], status="pending")]}, 0, "orders[0].status"),
    ({"orders": [dict(ORDERS["orders"][0], filled="lots")]}, 0, "orders[0].filled"),
    ({"positions": [dict(POSITIONS["positions"][0], side="both")]}, 0, "positions[0].side"),
    ({"balance": []}, None, "balance"),
])
def test_bad_structures_name_index_and_field(payload, index, field):
    with pytest.raises(TradebookError) as caught:
        translate(payload)
    assert (caught.value.errors[0]["index"], caught.value.errors[0]["field"]) == (index, field)
