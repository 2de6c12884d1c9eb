"""trades.ingest.formats.hummingbot: rows of hummingbot's tables → fills, orders, funding (pure)."""

from decimal import Decimal

import pytest

from core.errors import BadValue
from trades.ingest.formats import hummingbot

FILL = {"config_file_path": "conf_pmm_btc.yml", "strategy": "pure_market_making", "market": "binance",
        "symbol": "BTC-USDT", "base_asset": "BTC", "quote_asset": "USDT", "timestamp": 1735689601000,
        "order_id": "buy-BTC-USDT-1", "trade_type": "BUY", "order_type": "LIMIT", "price": 30000500000,
        "amount": 10000, "leverage": 1, "exchange_trade_id": "88123", "position": "NIL",
        "trade_fee": '{"fee_type": "AddedToCost", "percent": "0.001", "percent_token": null, "flat_fees": []}',
        "trade_fee_in_quote": 300005}


def test_a_fill_is_read_in_micro_units_with_its_percent_fee_in_the_quote():
    item = hummingbot.fill_item(FILL)
    assert {k: item[k] for k in ("type", "id", "symbol", "side", "price", "quantity", "fee", "fee_currency",
                                 "executed_at", "order_id", "bot")} == {
        "type": "fill", "id": "88123", "symbol": "BTC-USDT", "side": "buy", "price": Decimal("30000.5"),
        "quantity": Decimal("0.01"), "fee": Decimal("0.300005"), "fee_currency": "USDT",
        "executed_at": 1735689601000, "order_id": "buy-BTC-USDT-1", "bot": "hummingbot:conf_pmm_btc"}
    assert item["meta"]["trade_fee_in_quote"] == "0.300005"


def test_an_older_database_with_float_amounts_is_read_by_their_shortest_text():
    item = hummingbot.fill_item(dict(FILL, price=30000.5, amount=0.01))
    assert (item["price"], item["quantity"]) == (Decimal("30000.5"), Decimal("0.01"))


def test_flat_fees_in_any_token_are_each_a_fee():
    fee = ('{"fee_type": "DeductedFromReturns", "percent": "0", "percent_token": null, '
           '"flat_fees": [{"token": "BNB", "amount": "0.0001"}, {"token": "USDT", "amount": "0.02"}]}')
    item = hummingbot.fill_item(dict(FILL, trade_fee=fee))
    assert item["fees"] == [{"amount": Decimal("0.0001"), "currency": "BNB"},
                            {"amount": Decimal("0.02"), "currency": "USDT"}]
    assert item["quantity"] == Decimal("0.01")


def test_a_buys_fee_in_the_base_asset_is_taken_from_what_it_bought():
    fee = '{"fee_type": "DeductedFromReturns", "percent": "0", "percent_token": null, ' \
          '"flat_fees": [{"token": "BTC", "amount": "0.00001"}]}'
    item = hummingbot.fill_item(dict(FILL, trade_fee=fee))
    assert (item["quantity"], item["fee"], item["fee_currency"]) == (Decimal("0.00999"), Decimal("0.00001"), "BTC")
    assert item["meta"]["amount"] == "0.01"


def test_order_status_follows_hummingbots_last_event():
    row = {"id": "sell-BTC-USDT-2", "symbol": "BTC-USDT", "order_type": "LIMIT_MAKER", "amount": 20000,
           "price": 31000000000, "last_status": "OrderCancelled", "last_update_timestamp": 1735689700000,
           "exchange_order_id": "99", "config_file_path": "conf_pmm_btc.yml"}
    item = hummingbot.order_item(row, side="sell")
    assert {k: item[k] for k in ("id", "side", "status", "order_type", "price", "quantity", "updated_at")} == {
        "id": "sell-BTC-USDT-2", "side": "sell", "status": "canceled", "order_type": "limit_maker",
        "price": Decimal("31000"), "quantity": Decimal("0.02"), "updated_at": 1735689700000}
    assert [hummingbot.STATUSES[e] for e in ("BuyOrderCreated", "OrderFilled", "SellOrderCompleted",
                                             "OrderExpired", "OrderFailure")] == [
        "new", "partially_filled", "filled", "expired", "rejected"]


def test_an_orders_side_comes_from_its_events():
    assert hummingbot.side_from_events(["OrderFilled", "SellOrderCreated"]) == "sell"
    row = {"id": "x", "symbol": "BTC-USDT", "order_type": "MARKET", "amount": 1, "price": 0,
           "last_status": "BuyOrderCompleted", "last_update_timestamp": 1735689700000}
    item = hummingbot.order_item(row, side=None)
    assert item["side"] == "buy" and "price" not in item  # a market order's price is 0: none


def test_a_fill_without_a_side_is_named():
    with pytest.raises(BadValue) as caught:
        hummingbot.fill_item(dict(FILL, trade_type="HOLD"))
    assert caught.value.args == ("trade_type", "'HOLD' is neither BUY nor SELL")


def test_funding_is_a_funding_cash_flow_in_the_quote():
    item = hummingbot.funding_item({"timestamp": 1735693200, "market": "binance_perpetual", "symbol": "BTC-USDT",
                                    "rate": 0.0001, "amount": -0.25, "config_file_path": "conf.yml"})
    assert {k: item[k] for k in ("id", "kind", "amount", "currency", "ts")} == {
        "id": "hb-funding-binance_perpetual-BTC-USDT-1735693200", "kind": "funding", "amount": Decimal("-0.25"),
        "currency": "USDT", "ts": 1735693200}
