"""POST /api/v1/ingest/bybit/: raw Bybit V5 private websocket messages."""

import copy
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from snapshots.models import PositionSnapshot, WalletSnapshot
from tests.conftest import client_for
from tests.factories import make_account
from trades.models import CashFlow, Event, Fill, Order

pytestmark = pytest.mark.django_db
URL = "/api/v1/ingest/bybit/"

# Shaped as Bybit's documented examples (v5/websocket/private/*), values realistic.
EXECUTION = {
    "id": "386825804_BTCUSDT_140612148849382", "topic": "execution", "creationTime": 1746270400355,
    "data": [
        {"category": "linear", "symbol": "BTCUSDT", "closedSize": "0", "execFee": "0.05172635",
         "execId": "0ab1bdf7-4219-438b-b30a-32ec863018f7", "execPrice": "94047.9", "execQty": "0.001",
         "execType": "Trade", "execValue": "94.0479", "feeRate": "0.00055", "tradeIv": "", "markIv": "",
         "blockTradeId": "", "markPrice": "94050.12", "indexPrice": "", "underlyingPrice": "", "leavesQty": "0",
         "orderId": "5e8b5cd1-9a47-4b4b-9d6e-5e2fbd0f0b1a", "orderLinkId": "bot-42", "orderPrice": "98750.1",
         "orderQty": "0.001", "orderType": "Market", "stopOrderType": "UNKNOWN", "side": "Buy",
         "execTime": "1746270400353", "isLeverage": "0", "isMaker": False, "seq": 140612148849382,
         "feeCurrency": "", "createType": "CreateByUser"},
        {"category": "linear", "symbol": "BTCUSDT", "execFee": "0.0123", "execId": "f7d5b1c2-funding-0800",
         "execPrice": "94100", "execQty": "0.001", "execType": "Funding", "execValue": "94.1", "feeRate": "0.0001",
         "orderId": "", "orderLinkId": "", "side": "Buy", "execTime": "1746259200000", "isMaker": False,
         "feeCurrency": ""},
    ],
}

ORDER = {
    "id": "5923240c6880ab-c59f-420b-9adb-3639adc9dd90", "topic": "order", "creationTime": 1746270400350,
    "data": [{
        "symbol": "BTCUSDT", "orderId": "5e8b5cd1-9a47-4b4b-9d6e-5e2fbd0f0b1a", "side": "Buy", "orderType": "Market",
        "cancelType": "UNKNOWN", "price": "98750.1", "qty": "0.001", "orderIv": "", "timeInForce": "IOC",
        "orderStatus": "Filled", "orderLinkId": "bot-42", "lastPriceOnCreated": "94047.8", "reduceOnly": False,
        "leavesQty": "0", "leavesValue": "0", "cumExecQty": "0.001", "cumExecValue": "94.0479",
        "avgPrice": "94047.9", "blockTradeId": "", "positionIdx": 0, "cumExecFee": "0.05172635",
        "createdTime": "1746270400349", "updatedTime": "1746270400354", "rejectReason": "EC_NoError",
        "stopOrderType": "", "tpslMode": "", "triggerPrice": "", "takeProfit": "", "stopLoss": "",
        "category": "linear", "closeOnTrigger": False, "feeCurrency": "",
    }],
}

POSITION = {
    "id": "1003076014fb7eedb-c7e6-45d6-a8c1-270f0169171a", "topic": "position", "creationTime": 1746270400400,
    "data": [{
        "positionIdx": 0, "tradeMode": 0, "riskId": 1, "riskLimitValue": "2000000", "symbol": "BTCUSDT",
        "side": "Buy", "size": "0.001", "entryPrice": "94047.9", "sessionAvgPrice": "", "leverage": "10",
        "positionValue": "94.0479", "positionBalance": "0", "markPrice": "94050.12", "positionIM": "9.45",
        "positionMM": "0.52", "takeProfit": "0", "stopLoss": "0", "trailingStop": "0", "unrealisedPnl": "0.00222",
        "cumRealisedPnl": "-0.05172635", "curRealisedPnl": "-0.05172635", "createdTime": "1746270000000",
        "updatedTime": "1746270400353", "tpslMode": "Full", "liqPrice": "85105.3", "bustPrice": "",
        "category": "linear", "positionStatus": "Normal", "adlRankIndicator": 2, "autoAddMargin": 0,
        "leverageSysUpdatedTime": "", "mmrSysUpdatedTime": "", "seq": 140612148849382, "isReduceOnly": False,
    }],
}

WALLET = {
    "id": "592324d2bce751-ad38-48eb-8f42-4671d1fb4d4e", "topic": "wallet", "creationTime": 1746270400500,
    "data": [{
        "accountIMRate": "0.0016", "accountMMRate": "0.0001", "totalEquity": "10093.29", "totalWalletBalance": "10093.2",
        "totalMarginBalance": "10093.2", "totalAvailableBalance": "10083.7", "totalPerpUPL": "0.00222",
        "totalInitialMargin": "9.45", "totalMaintenanceMargin": "0.52", "accountType": "UNIFIED",
        "coin": [
            {"coin": "USDT", "equity": "9995.3", "usdValue": "9996.1", "walletBalance": "9995.29827365",
             "availableToWithdraw": "", "borrowAmount": "0", "accruedInterest": "0", "totalOrderIM": "0",
             "totalPositionIM": "9.45", "totalPositionMM": "0.52", "unrealisedPnl": "0.00222",
             "cumRealisedPnl": "-0.05172635", "bonus": "0", "collateralSwitch": True, "marginCollateral": True,
             "locked": "0", "spotHedgingQty": "0"},
            {"coin": "BTC", "equity": "0.00104", "usdValue": "97.8", "walletBalance": "0.00104",
             "availableToWithdraw": "0.00104", "borrowAmount": "0", "locked": "0"},
        ],
    }],
}


def test_an_execution_message_books_a_fill_and_funding(api, account):
    response = api.post(URL, EXECUTION, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["counts"] == {"created": 2, "duplicate": 0, "updated": 0}
    fill = Fill.objects.get(account=account)
    assert (fill.external_id, fill.symbol, fill.side) == ("0ab1bdf7-4219-438b-b30a-32ec863018f7", "BTCUSDT", "buy")
    assert (fill.price, fill.quantity, fill.fee, fill.fee_currency) == (
        Decimal("94047.9"), Decimal("0.001"), Decimal("0.05172635"), "USDT")
    assert fill.order_id == "5e8b5cd1-9a47-4b4b-9d6e-5e2fbd0f0b1a" and fill.is_maker is False
    assert fill.executed_at == datetime(2025, 5, 3, 11, 6, 40, 353000, tzinfo=UTC)
    assert fill.source == "exchange"
    funding = CashFlow.objects.get(account=account)
    assert (funding.kind, funding.amount, funding.currency, funding.symbol) == (
        "funding", Decimal("-0.0123"), "USDT", "BTCUSDT")
    assert Event.objects.filter(account=account, channel="ingest.bybit").count() == 2


def test_replaying_the_same_messages_is_all_duplicates(api, account):
    batch = [EXECUTION, ORDER, POSITION, WALLET]
    assert api.post(URL, batch, format="json").status_code == 201
    again = api.post(URL, copy.deepcopy(batch), format="json")
    assert again.status_code == 200, again.content
    assert again.json()["counts"] == {"created": 0, "duplicate": 6, "updated": 0}
    assert Fill.objects.count() == 1 and WalletSnapshot.objects.count() == 2


def test_the_bots_own_post_of_the_execution_is_the_same_fill(api, account):
    api.post(URL, EXECUTION, format="json")
    mine = {"id": "0ab1bdf7-4219-438b-b30a-32ec863018f7", "symbol": "BTCUSDT", "side": "buy", "price": "94047.90",
            "quantity": "0.0010", "fee": "0.05172635", "fee_currency": "USDT", "executed_at": 1746270400353}
    response = api.post("/api/v1/fills/", mine, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["results"][0]["status"] == "duplicate"


def test_order_position_and_wallet_messages(api, account):
    response = api.post(URL, [ORDER, POSITION, WALLET], format="json")
    assert response.status_code == 201, response.content
    order = Order.objects.get(account=account)
    assert (order.external_id, order.client_order_id, order.status, order.order_type) == (
        "5e8b5cd1-9a47-4b4b-9d6e-5e2fbd0f0b1a", "bot-42", "filled", "market")
    assert (order.filled_quantity, order.average_price, order.reduce_only) == (
        Decimal("0.001"), Decimal("94047.9"), False)
    position = PositionSnapshot.objects.get(account=account)
    assert (position.side, position.size, position.entry_price, position.mark_price, position.liq_price) == (
        "long", Decimal("0.001"), Decimal("94047.9"), Decimal("94050.12"), Decimal("85105.3"))
    assert (position.unrealized_pnl, position.leverage) == (Decimal("0.00222"), Decimal("10"))
    wallets = {w.coin: w for w in WalletSnapshot.objects.filter(account=account)}
    assert wallets["USDT"].wallet_balance == Decimal("9995.29827365")
    assert wallets["USDT"].available_balance is None  # Bybit sends "" on unified accounts 2.0
    assert wallets["BTC"].available_balance == Decimal("0.00104")
    assert wallets["USDT"].exchange_ts == datetime(2025, 5, 3, 11, 6, 40, 500000, tzinfo=UTC)


def test_an_order_moves_forward(api, account):
    new = copy.deepcopy(ORDER)
    new["data"][0].update(orderStatus="New", cumExecQty="0", avgPrice="", updatedTime="1746270400349")
    assert api.post(URL, new, format="json").status_code == 201
    assert Order.objects.get().status == "new"
    response = api.post(URL, ORDER, format="json")
    assert response.json()["counts"]["updated"] == 1
    assert Order.objects.get().status == "filled"


def test_a_closed_position_is_flat(api, account):
    closed = copy.deepcopy(POSITION)
    closed["data"][0].update(side="", size="0", entryPrice="0", liqPrice="", unrealisedPnl="0")
    assert api.post(URL, closed, format="json").status_code == 201
    snapshot = PositionSnapshot.objects.get()
    assert (snapshot.side, snapshot.size, snapshot.entry_price, snapshot.liq_price) == ("flat", 0, None, None)


def test_bad_messages_name_the_message_and_field(api, account):
    bad_price = copy.deepcopy(EXECUTION)
    bad_price["data"][0]["execPrice"] = "abc"
    response = api.post(URL, [ORDER, bad_price, {"topic": "greeks", "data": []}], format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"index": 2, "field": "topic"} in [{k: e[k] for k in ("index", "field")} for e in errors]
    response = api.post(URL, [ORDER, bad_price], format="json")
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(1, "data[0].execPrice")]
    assert Order.objects.count() == 0 and Event.objects.count() == 0


def test_a_token_with_two_accounts_names_one(account):
    bravo = make_account("bravo")
    both = client_for(account, bravo)
    response = both.post(URL, EXECUTION, format="json")
    assert response.status_code == 400
    assert "account" in {e["field"] for e in response.json()["errors"]}
    assert both.post(URL + "?account=bravo", EXECUTION, format="json").status_code == 201
    assert Fill.objects.get().account == bravo


def test_charlie_cannot_write_into_alpha(charlie_api, account):
    assert charlie_api.post(URL + "?account=alpha", EXECUTION, format="json").status_code == 404
    assert charlie_api.post(URL, EXECUTION, format="json").status_code == 201
    assert not Fill.objects.filter(account=account).exists()
