"""POST /api/v1/ingest/ccxt/: CCXT unified structures as fetch_* return them."""

import copy
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from snapshots.models import PositionSnapshot, WalletSnapshot
from tests.conftest import client_for
from tests.factories import make_account
from trades.models import Fill, Order

pytestmark = pytest.mark.django_db
URL = "/api/v1/ingest/ccxt/"

# As ccxt's bybit.fetch_my_trades() returns them (JSON numbers arrive as exact decimals).
TRADES = {"trades": [
    {"info": {"execId": "e1"}, "id": "2100000000005324219", "order": "1700000000012345",
     "timestamp": 1746270400353, "datetime": "2025-05-03T11:06:40.353Z", "symbol": "BTC/USDT:USDT",
     "type": "market", "side": "buy", "takerOrMaker": "taker", "price": 94047.9, "amount": 0.001,
     "cost": 94.0479, "fee": {"cost": 0.05172635, "currency": "USDT", "rate": 0.00055},
     "fees": [{"cost": 0.05172635, "currency": "USDT", "rate": 0.00055}]},
    {"info": {}, "id": "2100000000005324388", "order": "1700000000012399", "timestamp": 1746274000000,
     "datetime": "2025-05-03T12:06:40.000Z", "symbol": "BTC/USDT:USDT", "type": "limit", "side": "sell",
     "takerOrMaker": "maker", "price": 95012.5, "amount": 0.001, "cost": 95.0125,
     "fees": [{"cost": 0.019, "currency": "USDT"}, {"cost": 0.0000001, "currency": "BNB"}]},
]}

ORDERS = {"orders": [
    {"id": "1700000000012345", "clientOrderId": "bot-42", "timestamp": 1746270400349,
     "lastTradeTimestamp": 1746270400353, "lastUpdateTimestamp": 1746270400354, "symbol": "BTC/USDT:USDT",
     "type": "market", "timeInForce": "IOC", "side": "buy", "price": 94047.9, "average": 94047.9, "amount": 0.001,
     "filled": 0.001, "remaining": 0, "status": "closed", "reduceOnly": False, "fee": None, "trades": []},
    {"id": "1700000000012400", "clientOrderId": None, "timestamp": 1746274100000, "lastTradeTimestamp": 1746274200000,
     "lastUpdateTimestamp": 1746274200000, "symbol": "ETH/USDT:USDT", "type": "limit", "side": "sell",
     "price": 1850.5, "average": 1850.5, "amount": 2, "filled": 0.5, "remaining": 1.5, "status": "open",
     "reduceOnly": False},
    {"id": "1700000000012401", "timestamp": 1746274100000, "symbol": "ETH/USDT:USDT", "type": "limit",
     "side": "buy", "price": 1700, "amount": 1, "filled": 0, "remaining": 1, "status": "canceled"},
]}

POSITIONS = {"positions": [
    {"info": {}, "id": None, "symbol": "BTC/USDT:USDT", "timestamp": 1746270400353,
     "datetime": "2025-05-03T11:06:40.353Z", "contracts": 0.001, "contractSize": 1, "side": "long",
     "notional": 94.0501, "leverage": 10, "unrealizedPnl": 0.00222, "entryPrice": 94047.9, "markPrice": 94050.12,
     "liquidationPrice": 85105.3, "marginMode": "cross", "initialMargin": 9.45},
    {"info": {}, "symbol": "ETH/USDT:USDT", "timestamp": 1746270400353, "contracts": 0, "side": None,
     "entryPrice": None, "markPrice": 1845.1, "liquidationPrice": None, "unrealizedPnl": 0, "leverage": 5},
]}

BALANCE = {"balance": {
    "info": {"retCode": 0}, "timestamp": 1746270400500, "datetime": "2025-05-03T11:06:40.500Z",
    "USDT": {"free": 10083.7, "used": 9.45, "total": 10093.2}, "BTC": {"free": 0.00104, "used": 0, "total": 0.00104},
    "ETH": {"free": None, "used": None, "total": None},
    "free": {"USDT": 10083.7, "BTC": 0.00104}, "used": {"USDT": 9.45, "BTC": 0},
    "total": {"USDT": 10093.2, "BTC": 0.00104},
}}


def test_trades_become_fills(api, account):
    response = api.post(URL, TRADES, format="json")
    assert response.status_code == 201, response.content
    first = Fill.objects.get(external_id="2100000000005324219")
    assert (first.symbol, first.side, first.price, first.quantity) == (
        "BTC/USDT:USDT", "buy", Decimal("94047.9"), Decimal("0.001"))
    assert (first.fee, first.fee_currency, first.is_maker, first.order_id) == (
        Decimal("0.05172635"), "USDT", False, "1700000000012345")
    assert first.executed_at == datetime(2025, 5, 3, 11, 6, 40, 353000, tzinfo=UTC)
    second = Fill.objects.get(external_id="2100000000005324388")
    assert (second.fee, second.fee_currency, second.is_maker) == (Decimal("0.019"), "USDT", True)
    assert second.other_fees == [{"amount": "0.0000001", "currency": "BNB"}]


def test_replaying_is_all_duplicates(api, account):
    payload = {**TRADES, **ORDERS, **POSITIONS, **BALANCE}
    first = api.post(URL, payload, format="json")
    assert first.status_code == 201, first.content
    again = api.post(URL, copy.deepcopy(payload), format="json")
    assert again.status_code == 200
    counts = again.json()["counts"]
    assert counts["created"] == 0 and counts["updated"] == 0 and counts["duplicate"] == 2 + 3 + 2 + 2


def test_orders_map_ccxt_statuses(api, account):
    assert api.post(URL, ORDERS, format="json").status_code == 201
    statuses = dict(Order.objects.values_list("external_id", "status"))
    assert statuses == {"1700000000012345": "filled", "1700000000012400": "partially_filled",
                        "1700000000012401": "canceled"}
    order = Order.objects.get(external_id="1700000000012345")
    assert (order.client_order_id, order.average_price, order.filled_quantity) == (
        "bot-42", Decimal("94047.9"), Decimal("0.001"))
    assert order.updated_at == datetime(2025, 5, 3, 11, 6, 40, 354000, tzinfo=UTC)


def test_positions_and_balance(api, account):
    assert api.post(URL, {**POSITIONS, **BALANCE}, format="json").status_code == 201
    btc = PositionSnapshot.objects.get(symbol="BTC/USDT:USDT")
    assert (btc.side, btc.size, btc.entry_price, btc.liq_price, btc.leverage) == (
        "long", Decimal("0.001"), Decimal("94047.9"), Decimal("85105.3"), Decimal("10"))
    eth = PositionSnapshot.objects.get(symbol="ETH/USDT:USDT")
    assert (eth.side, eth.size, eth.mark_price) == ("flat", 0, Decimal("1845.1"))
    wallets = {w.coin: w for w in WalletSnapshot.objects.all()}
    assert set(wallets) == {"USDT", "BTC"}
    assert (wallets["USDT"].wallet_balance, wallets["USDT"].available_balance) == (Decimal("10093.2"),
                                                                                    Decimal("10083.7"))


def test_a_balance_without_time_is_taken_now(api, account):
    balance = copy.deepcopy(BALANCE)
    balance["balance"]["timestamp"] = None
    balance["balance"]["datetime"] = None
    assert api.post(URL, balance, format="json").status_code == 201
    assert WalletSnapshot.objects.count() == 2


def test_bad_structures_name_index_and_field(api, account):
    bad = copy.deepcopy(TRADES)
    bad["trades"][1]["side"] = "hold"
    response = api.post(URL, bad, format="json")
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(1, "trades[1].side")]
    response = api.post(URL, {"tickers": []}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "tickers"
    bad_order = copy.deepcopy(ORDERS)
    bad_order["orders"][2]["status"] = "pending"
    response = api.post(URL, bad_order, format="json")
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(2, "orders[2].status")]
    assert Fill.objects.count() == 0 and Order.objects.count() == 0


def test_the_payload_may_name_its_account(account):
    bravo = make_account("bravo")
    both = client_for(account, bravo)
    assert both.post(URL, TRADES, format="json").status_code == 400
    assert both.post(URL, {**TRADES, "account": "bravo"}, format="json").status_code == 201
    assert set(Fill.objects.values_list("account__slug", flat=True)) == {"bravo"}


def test_charlie_cannot_write_into_alpha(charlie_api, account):
    assert charlie_api.post(URL, {**TRADES, "account": "alpha"}, format="json").status_code == 404
    assert charlie_api.post(URL + "?account=alpha", TRADES, format="json").status_code == 404
    assert not Fill.objects.filter(account=account).exists()
