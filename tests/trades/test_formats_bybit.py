"""trades.ingest.formats.bybit: Bybit V5 websocket messages → canonical items (pure)."""

import copy

import pytest

from core.errors import TradebookError
from tests.api.test_native_bybit import EXECUTION, ORDER, POSITION, WALLET
from trades.ingest.formats import bybit
from trades.ingest.formats.base import remap_errors


def test_an_execution_message():
    out = bybit.translate(EXECUTION)
    fill, funding = out.items
    assert fill == {
        "type": "fill", "id": "0ab1bdf7-4219-438b-b30a-32ec863018f7", "symbol": "BTCUSDT", "side": "buy",
        "price": "94047.9", "quantity": "0.001", "executed_at": 1746270400353, "source": "exchange",
        "fee": "0.05172635", "fee_currency": "USDT", "order_id": "5e8b5cd1-9a47-4b4b-9d6e-5e2fbd0f0b1a",
        "is_maker": False, "meta": {"category": "linear", "order_link_id": "bot-42", "exec_type": "Trade",
                                    "exec_value": "94.0479", "fee_rate": "0.00055", "closed_size": "0",
                                    "exec_mark_price": "94050.12"},
    }
    assert funding["type"] == "cashflow" and funding["kind"] == "funding" and str(funding["amount"]) == "-0.0123"
    assert [o.path for o in out.origins] == ["data[0]", "data[1]"]


@pytest.mark.parametrize("status, ours", [("New", "new"), ("PartiallyFilled", "partially_filled"),
                                          ("Filled", "filled"), ("Cancelled", "canceled"),
                                          ("PartiallyFilledCanceled", "canceled"), ("Deactivated", "canceled"),
                                          ("Untriggered", "new"), ("Rejected", "rejected")])
def test_order_statuses(status, ours):
    message = copy.deepcopy(ORDER)
    message["data"][0]["orderStatus"] = status
    assert bybit.translate(message).items[0]["status"] == ours


def test_a_market_order_without_price_leaves_it_out():
    message = copy.deepcopy(ORDER)
    message["data"][0].update(price="0", avgPrice="")
    order = bybit.translate(message).items[0]
    assert "price" not in order and "average_price" not in order


def test_positions_and_wallets():
    position = bybit.translate(POSITION).items[0]
    assert (position["side"], position["size"], position["entry_price"], position["exchange_ts"]) == (
        "long", "0.001", "94047.9", 1746270400353)
    wallets = bybit.translate(WALLET).items
    assert [(w["coin"], w["wallet_balance"]) for w in wallets] == [("USDT", "9995.29827365"), ("BTC", "0.00104")]
    assert "available_balance" not in wallets[0] and wallets[1]["available_balance"] == "0.00104"
    assert all(w["exchange_ts"] == 1746270400500 for w in wallets)


def test_settle_coin():
    assert bybit.settle_coin("BTCUSDT") == "USDT"
    assert bybit.settle_coin("BTCPERP") == "USDC"
    assert bybit.settle_coin("ETHUSD") == "ETH"
    assert bybit.settle_coin("BTCUSDH26") == "BTC"


@pytest.mark.parametrize("payload, index, field", [
    ({"topic": "tickers.BTCUSDT", "data": []}, 0, "topic"),
    ({"topic": "execution", "data": {}}, 0, "data"),
    ([ORDER, {"topic": "order", "data": [dict(ORDER["data"][0], orderStatus="Lost")]}], 1, "data[0].orderStatus"),
    ({"topic": "execution", "data": [dict(EXECUTION["data"][0], execType="Nonsense")]}, 0, "data[0].execType"),
    ({"topic": "execution", "data": [dict(EXECUTION["data"][1], execFee="x")]}, 0, "data[0].execFee"),
    ({"topic": "wallet", "data": [{"coin": None}]}, 0, "data[0].coin"),
    ({"topic": "position", "data": [dict(POSITION["data"][0], side="Both")]}, 0, "data[0].side"),
    ("just text", 0, None),
])
def test_bad_messages_name_index_and_field(payload, index, field):
    with pytest.raises(TradebookError) as caught:
        bybit.translate(payload)
    assert (caught.value.errors[0]["index"], caught.value.errors[0]["field"]) == (index, field)


def test_errors_of_record_are_readdressed_to_the_native_field():
    out = bybit.translate([ORDER, EXECUTION])
    error = TradebookError([{"index": 1, "field": "price", "message": "must be greater than 0"},
                            {"index": None, "field": None, "message": "whole request"}])
    remapped = remap_errors(error, out.origins).errors
    assert remapped[0] == {"index": 1, "field": "data[0].execPrice", "message": "must be greater than 0"}
    assert remapped[1]["index"] is None


def test_control_replies_in_the_stream_are_skipped():
    replies = [{"success": True, "ret_msg": "", "op": "auth", "conn_id": "cejreaspqfh3sjdnldmg-p"},
               {"op": "pong", "args": ["1746270400000"], "conn_id": "x"}]
    out = bybit.translate(replies + [ORDER])
    assert [item["type"] for item in out.items] == ["order"]
    assert out.origins[0].index == 2


def test_the_fast_execution_stream_is_refused_with_a_reason():
    fast = {"topic": "execution.fast", "creationTime": 1746270400355,
            "data": [{"category": "linear", "symbol": "BTCUSDT", "execId": "x", "execPrice": "1", "execQty": "1",
                      "side": "Buy", "orderId": "o", "isMaker": False, "execTime": "1746270400353"}]}
    with pytest.raises(TradebookError) as caught:
        bybit.translate(fast)
    assert caught.value.errors[0]["field"] == "topic" and "no fees" in caught.value.errors[0]["message"]
    assert bybit.translate(dict(EXECUTION, topic="execution.linear")).items[0]["type"] == "fill"
