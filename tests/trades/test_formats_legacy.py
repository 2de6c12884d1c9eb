"""trades.ingest.formats.legacy: the older JSONL lines → canonical items (pure)."""

from decimal import Decimal

from trades.ingest.formats.legacy import derived_fill_id, fill_missing_timestamps, is_legacy, translate

TRADE = {"type": "trade", "timestamp": "2026-01-05T10:00:00", "bot_id": "paper:BTCUSD-ETHUSD", "symbol": "BTCUSD",
         "side": "BUY", "price": Decimal("42000.50"), "quantity": "0.25", "pnl": "3"}


def test_a_trade_line_is_a_fill_with_a_key_from_its_content():
    fill = translate(TRADE)
    assert fill["type"] == "fill" and fill["bot"] == "paper:BTCUSD-ETHUSD"
    assert fill["executed_at"] == "2026-01-05T10:00:00" and fill["side"] == "buy"
    assert fill["id"].startswith("legacy-") and "bot_id" not in fill and "timestamp" not in fill
    # SPEC 8: `pnl` is the fill's reported PnL, `commission` its fee (in the base currency: no fee_currency).
    assert fill["reported_pnl"] == "3" and "pnl" not in fill
    assert translate(dict(TRADE, commission="1.61"))["fee"] == "1.61"
    assert "fee_currency" not in translate(dict(TRADE, commission="1.61"))
    assert translate(dict(TRADE, mood="calm"))["mood"] == "calm"  # unknown fields pass through (ingest warns)


def test_the_derived_key_ignores_spelling_but_not_content():
    same = dict(TRADE, price="42000.5", timestamp=1767607200000, side="buy")
    assert derived_fill_id(same) == derived_fill_id(TRADE)
    assert derived_fill_id(dict(TRADE, quantity="0.26")) != derived_fill_id(TRADE)
    assert derived_fill_id(dict(TRADE, timestamp="2026-01-05T10:00:01")) != derived_fill_id(TRADE)
    assert translate(dict(TRADE, id="given"))["id"] == "given"


def test_a_metric_line_is_an_equity_snapshot():
    equity = translate({"type": "metric", "timestamp": 1767607200000, "bot_id": "b", "equity": "10010",
                        "cash": "9000", "positions_value": "1010", "positions_count": 1, "total_trades": 4,
                        "initial_capital": "10000", "returns_pct": "0.1"})
    assert equity == {"type": "equity", "exchange_ts": 1767607200000, "bot": "b", "equity": "10010", "cash": "9000",
                      "positions_value": "1010", "positions_count": 1, "total_trades": 4,
                      "initial_capital": "10000", "returns_pct": "0.1"}


def test_an_old_position_line_takes_its_side_from_the_sign():
    short = translate({"type": "position", "timestamp": "2026-01-05T10:00:00Z", "bot_id": "b", "symbol": "ETHUSD",
                       "quantity": "-2.50", "entry_price": "2500", "current_price": "2490", "unrealized_pnl": "25"})
    assert (short["side"], short["size"], short["mark_price"], short["entry_price"]) == ("short", "2.5", "2490",
                                                                                        "2500")
    assert short["exchange_ts"] == "2026-01-05T10:00:00Z" and "quantity" not in short
    assert translate({"type": "position", "symbol": "X", "quantity": 1})["side"] == "long"
    assert translate({"type": "position", "symbol": "X", "quantity": "0"})["side"] == "flat"


def test_canonical_items_pass_unchanged():
    canonical = {"type": "position", "symbol": "X", "side": "long", "size": "1", "exchange_ts": 1}
    fill = {"type": "fill", "id": "1", "bot_id": "kept as it is"}
    assert translate(canonical) is canonical and translate(fill) is fill
    assert not is_legacy(canonical) and not is_legacy("not a dict")


def test_missing_timestamps_take_the_previous_lines():
    items = [
        {"type": "fill", "id": "a", "executed_at": "2026-01-01T00:00:00Z"},
        {"type": "metric", "equity": "1"},
        {"type": "trade", "timestamp": "2026-01-02T00:00:00Z", "symbol": "X"},
        {"type": "position", "symbol": "X", "quantity": 1},
        {"type": "fill", "id": "no time"},
    ]
    out = fill_missing_timestamps(items)
    assert out[1]["timestamp"] == "2026-01-01T00:00:00Z"
    assert out[3]["timestamp"] == "2026-01-02T00:00:00Z"
    assert out[4]["timestamp"] == "2026-01-02T00:00:00Z"  # any line: SPEC 8 says "a line"
    assert translate(out[4])["executed_at"] == "2026-01-02T00:00:00Z"
    assert "timestamp" not in items[1]  # the input is not changed
    assert fill_missing_timestamps([{"type": "metric", "equity": "1"}]) == [{"type": "metric", "equity": "1"}]
    assert fill_missing_timestamps(items[:1] + [{"type": "bogus"}])[1] == {"type": "bogus"}


def test_a_canonical_type_in_the_older_style_gets_its_time_field():
    signal = {"type": "signal", "timestamp": 1767225600000, "bot_id": "b", "symbol": "X", "value": 1}
    assert translate(signal) == {"type": "signal", "generated_at": 1767225600000, "bot_id": "b", "symbol": "X",
                                 "value": 1}
    both = {"type": "fill", "executed_at": 1, "timestamp": 2}
    assert translate(both) is both


def test_a_line_with_both_fee_and_commission_keeps_the_fee_and_the_commission_in_meta():
    fill = translate(dict(TRADE, fee="1", fee_currency="BNB", commission="2.5", meta={"run": 1}))
    assert (fill["fee"], fill["fee_currency"], fill["meta"]) == ("1", "BNB", {"run": 1, "commission": "2.5"})
    assert "commission" not in fill and fill["reported_pnl"] == "3"
