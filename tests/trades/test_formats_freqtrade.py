"""trades.ingest.formats.freqtrade: a freqtrade database's rows → what the bot meant (pure).

The rows are freqtrade's own: tests/trades/fixtures/freqtrade/ was written by freqtrade 2026.9's
persistence code (make_databases.py there), and its figures are freqtrade's.
"""

from decimal import Decimal

import pytest

from core.errors import TradebookError
from tests.trades.freqtrade_data import T0, T1, expected, figure, rows
from trades.ingest.formats import freqtrade


@pytest.fixture(scope="module")
def by_trade():
    trades, orders = rows(T1)
    return {t.trade_id: t.items for t in freqtrade.translate(trades, orders)}


def of(items, kind):
    return [i for i in items if i["type"] == kind]


def test_a_closed_trade_is_an_open_its_fills_and_a_close(by_trade):
    assert [(i["type"], i["id"]) for i in by_trade[1]] == [
        ("trade.open", "ft-1"), ("fill", "ft-order-8812001"), ("fill", "ft-order-8812377"), ("trade.close", "ft-1")]
    opening, entry, exit_, closing = by_trade[1]
    assert (opening["quantity"], opening["entry_price"], opening["entry_fee"]) == (
        Decimal("0.025"), Decimal("42000.5"), Decimal("1.0500125"))
    assert opening["bot"] == "freqtrade:SampleStrategy" and opening["sl_price"] == Decimal("39900.47")
    assert (entry["side"], entry["fee"], entry["fee_currency"]) == ("buy", Decimal("1.0500125"), "USDT")
    assert (exit_["side"], exit_["fee"]) == ("sell", Decimal("1.07625625"))
    assert closing["reported_pnl"] == figure(expected()["trades"]["1"]["close_profit_abs"])
    assert closing["close_reason"] == "roi"


def test_a_canceled_unfilled_order_is_no_fill(by_trade):
    assert "ft-order-8812002" not in {i["id"] for i in by_trade[1]}


def test_a_second_entry_and_a_partial_exit_are_fills_and_the_trade_is_what_it_entered(by_trade):
    # freqtrade's own `amount` of this closed trade is 0.01: what was left before its last exit.
    assert figure(expected()["trades"]["2"]["amount"]) == Decimal("0.01")
    opening, closing = of(by_trade[2], "trade.open")[0], of(by_trade[2], "trade.close")[0]
    assert [(f["side"], f["quantity"], f["price"]) for f in of(by_trade[2], "fill")] == [
        ("buy", Decimal("0.01"), Decimal("3000")), ("buy", Decimal("0.01"), Decimal("2800")),
        ("sell", Decimal("0.01"), Decimal("2850")), ("sell", Decimal("0.01"), Decimal("2700"))]
    assert (opening["quantity"], opening["entry_price"], opening["entry_fee"]) == (
        Decimal("0.02"), Decimal("2900"), Decimal("0.058"))
    assert (closing["exit_price"], closing["exit_fee"]) == (Decimal("2775"), Decimal("0.0555"))


def test_a_futures_fill_pays_the_fee_on_its_notional_and_the_trade_keeps_leverage_and_stake(by_trade):
    opening = of(by_trade[3], "trade.open")[0]
    entry, exit_ = of(by_trade[3], "fill")
    # 10 SOL at 150, 3x: the fee is 0.05% of 1,500 (freqtrade's profit charges it so), the stake 500.
    assert (entry["side"], entry["fee"]) == ("sell", Decimal("0.75"))
    assert exit_["fee"] == Decimal("0.725")
    assert (opening["side"], opening["entry_fee"], opening["leverage"], opening["margin"]) == (
        "short", Decimal("0.75"), Decimal("3"), Decimal("500"))
    assert opening["margin"] == figure(expected()["trades"]["3"]["max_stake_amount"])


def test_funding_is_a_funding_cash_flow_on_the_order_that_settled_it(by_trade):
    assert [(c["id"], c["kind"], c["amount"], c["currency"], c["symbol"]) for c in of(by_trade[3], "cashflow")] == [
        ("ft-funding-SOL/USDT:USDT-s-2", "funding", Decimal("-0.42"), "USDT", "SOL/USDT:USDT")]
    assert [c["amount"] for c in of(by_trade[7], "cashflow")] == [Decimal("0.05"), Decimal("-0.02")]


def test_a_fee_taken_in_the_base_coin_is_booked_as_that_coin_and_the_quantity_is_net_of_it(by_trade):
    entry, exit_ = of(by_trade[4], "fill")
    assert (entry["quantity"], entry["fees"]) == (Decimal("1.998"), [{"amount": Decimal("0.002"), "currency": "BNB"}])
    assert "fee" not in entry  # not charged again in USDT
    assert exit_["quantity"] == Decimal("1.998")  # the position goes back to zero: no phantom 0.002 BNB
    assert of(by_trade[4], "trade.open")[0]["entry_fee"] == Decimal("0.6")  # 0.002 BNB at the order's 300


def test_a_stoploss_order_that_filled_is_the_exit(by_trade):
    exit_ = of(by_trade[6], "fill")[1]
    assert (exit_["id"], exit_["side"], exit_["price"], exit_["reason"]) == (
        "ft-order-a-2", "sell", Decimal("0.65"), "stoploss")


def test_an_open_trade_is_booked_by_its_fills_only_until_freqtrade_closes_it(by_trade):
    # freqtrade may still add entries to it: its trade (quantity, entry price) is final only at close.
    assert [i["type"] for i in by_trade[5]] == ["fill"]  # the open take-profit order is no fill
    assert [i["type"] for i in by_trade[8]] == ["fill"]


def test_trade_pnl_plus_funding_is_freqtrades_close_profit_abs(by_trade):
    for trade_id, items in by_trade.items():
        ft = expected()["trades"][str(trade_id)]
        if ft["is_open"]:
            continue
        opening, closing = of(items, "trade.open")[0], of(items, "trade.close")[0]
        direction = 1 if opening["side"] == "long" else -1
        pnl = ((closing["exit_price"] - opening["entry_price"]) * opening["quantity"] * direction
               - opening["entry_fee"] - closing["exit_fee"])
        funding = sum((c["amount"] for c in of(items, "cashflow")), Decimal(0))
        difference = figure(ft["close_profit_abs"]) - (pnl + funding)
        # freqtrade charges its fee rate on the BNB trade's net entry value (0.5994) where 0.002 BNB
        # at 300 (0.6) was taken; every other trade agrees to freqtrade's 8 places.
        assert abs(difference) <= Decimal("1e-8") or (trade_id, difference) == (4, Decimal("0.0006")), trade_id


def test_the_first_moment_has_the_second_entry_and_partial_exit_but_no_close():
    trades, orders = rows(T0)
    made = {t.trade_id: t.items for t in freqtrade.translate(trades, orders)}
    assert [(i["type"], i.get("quantity")) for i in made[2]] == [
        ("fill", Decimal("0.01")), ("fill", Decimal("0.01")), ("fill", Decimal("0.01"))]


def test_a_bot_given_overrides_the_strategy():
    trades, orders = rows(T1)
    made = freqtrade.translate(trades[:1], orders, bot="ft:main")
    assert {i["bot"] for i in made[0].items} == {"ft:main"}


def test_a_database_without_orders_gives_the_trades_rates_as_fills():
    trades, _orders = rows(T1)
    made = freqtrade.translate([trades[0]], None)[0].items
    assert [(i["type"], i["id"]) for i in made] == [
        ("trade.open", "ft-1"), ("fill", "ft-1-open"), ("fill", "ft-1-close"), ("trade.close", "ft-1")]
    assert (made[1]["quantity"], made[1]["fee"]) == (Decimal("0.025"), Decimal("1.0500125"))


def test_a_bad_row_is_named_by_trade_and_column():
    trades, orders = rows(T1)
    bad = [dict(trades[0], open_rate=None), trades[1]]
    with pytest.raises(TradebookError) as caught:
        freqtrade.translate(bad, None)
    assert caught.value.errors == [{"index": 0, "field": "open_rate", "message": "trade 1: is empty"}]
