"""Every write endpoint of SPEC 4.1 besides fills: orders, trades, signals, snapshots,
cash flows, marks, voids, mixed events (JSON and NDJSON) — and charlie touching none of it."""

import json
from decimal import Decimal

import pytest

from snapshots.models import EquitySnapshot, Mark, PositionSnapshot, WalletSnapshot
from tests.api.write_helpers import fill, post
from trades.models import CashFlow, Event, Fill, Order, Signal, Trade

ORDER = {"id": "o1", "client_order_id": "c1", "symbol": "BTCUSDT", "side": "buy", "order_type": "limit",
         "status": "new", "price": "100", "quantity": "2", "filled_quantity": "0",
         "updated_at": "2026-01-01T00:00:00Z"}
OPEN = {"id": "t1", "symbol": "BTCUSDT", "side": "long", "quantity": "2", "entry_price": "100",
        "entry_time": "2026-01-01T00:00:00Z", "entry_fee": "0.1", "sl_price": "95", "tp_price": "120",
        "leverage": "3", "model": "xgb", "confidence": "0.7", "strategy": "trend", "metadata": {"rsi": 31}}
CLOSE = {"exit_price": "110", "exit_time": "2026-01-02T00:00:00Z", "exit_fee": "0.2", "close_reason": "tp"}

SIMPLE = {
    "/api/v1/signals/": ({"id": "s1", "symbol": "BTCUSDT", "value": -1, "generated_at": 1767225600000,
                          "strength": "0.8", "strategy": "trend", "metadata": {"ema": "1.5"}}, Signal),
    "/api/v1/positions/": ({"symbol": "BTCUSDT", "side": "long", "size": "0.5", "entry_price": "100",
                            "mark_price": "101", "unrealized_pnl": "0.5", "exchange_ts": 1767225600000}, PositionSnapshot),
    "/api/v1/wallets/": ({"coin": "USDT", "wallet_balance": "1000.123456789012345678", "available_balance": "900",
                          "exchange_ts": 1767225600000}, WalletSnapshot),
    "/api/v1/equity/": ({"equity": "10100", "cash": "10000", "positions_value": "100", "positions_count": 1,
                         "total_trades": 7, "returns_pct": "1", "exchange_ts": 1767225600000, "bot": "paper:x"},
                        EquitySnapshot),
    "/api/v1/cashflows/": ({"id": "c1", "kind": "deposit", "amount": "500", "currency": "USDT",
                            "ts": 1767225600000}, CashFlow),
    "/api/v1/marks/": ({"symbol": "BTCUSDT", "price": "101.5", "ts": 1767225600000}, Mark),
}
CHANGED = {"/api/v1/signals/": "value", "/api/v1/positions/": "size", "/api/v1/wallets/": "wallet_balance",
           "/api/v1/equity/": "equity", "/api/v1/cashflows/": "amount", "/api/v1/marks/": "price"}


@pytest.mark.django_db
@pytest.mark.parametrize("url", list(SIMPLE))
def test_each_keyed_endpoint_creates_then_reports_duplicate_then_409(api, account, url):
    item, model = SIMPLE[url]
    first = post(api, url, item)
    assert first.status_code == 201, first.json()
    assert first.json()["counts"]["created"] == 1
    again = post(api, url, [item])
    assert again.status_code == 200 and again.json()["results"][0]["status"] == "duplicate"
    assert again.json()["results"][0]["id"] == first.json()["results"][0]["id"]
    assert model.objects.filter(account=account).count() == 1
    field = CHANGED[url]
    changed = {**item, field: 1 if field == "value" else "7"}
    conflict = post(api, url, changed)
    assert conflict.status_code == 409
    assert conflict.json()["errors"][0]["field"] == field
    assert model.objects.filter(account=account).count() == 1
    assert Event.objects.filter(account=account).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("url", list(SIMPLE) + ["/api/v1/fills/", "/api/v1/orders/", "/api/v1/trades/",
                                                "/api/v1/events/", "/api/v1/fills/void/"])
def test_charlie_gets_404_on_every_write_of_alpha(account, charlie_api, url):
    item = SIMPLE.get(url, (fill(1),))[0]
    if url == "/api/v1/events/":
        item = {"type": "fill", **item}
    assert post(charlie_api, url + "?account=alpha", item).status_code == 404
    assert post(charlie_api, url, {**item, "account": "alpha"}).status_code == 404
    assert Event.objects.filter(account=account).count() == 0


@pytest.mark.django_db
def test_charlie_cannot_patch_or_close_alphas_trade(api, account, charlie_api):
    post(api, "/api/v1/trades/", OPEN)
    assert post(charlie_api, "/api/v1/trades/t1/?account=alpha", {"sl_price": "1"}, method="patch").status_code == 404
    assert post(charlie_api, "/api/v1/trades/t1/close/?account=alpha", CLOSE).status_code == 404
    # His own scope has no trade t1: also a 404, and alpha's trade is untouched.
    assert post(charlie_api, "/api/v1/trades/t1/close/", CLOSE).status_code == 404
    trade = Trade.objects.get(account=account)
    assert trade.status == "open" and trade.sl_price == Decimal("95")


@pytest.mark.django_db
def test_signals_without_id_are_always_new(api, account):
    item = {"symbol": "BTCUSDT", "value": 0, "generated_at": "2026-01-01T00:00:00Z"}
    response = post(api, "/api/v1/signals/", [item, item])
    assert response.json()["counts"]["created"] == 2
    ids = [r["id"] for r in response.json()["results"]]
    assert sorted(ids) == sorted(Signal.objects.values_list("pk", flat=True))


@pytest.mark.django_db
def test_order_moves_forward_with_newer_updated_at_and_ignores_older(api, account):
    assert post(api, "/api/v1/orders/", ORDER).status_code == 201
    newer = {**ORDER, "status": "filled", "filled_quantity": "2", "average_price": "99.5",
             "updated_at": "2026-01-01T00:01:00Z"}
    response = post(api, "/api/v1/orders/", newer)
    assert response.status_code == 200 and response.json()["results"][0]["status"] == "updated"
    older = {**ORDER, "status": "partially_filled", "updated_at": "2026-01-01T00:00:30Z"}
    response = post(api, "/api/v1/orders/", older)
    assert response.json()["results"][0]["status"] == "duplicate"
    order = Order.objects.get(account=account)
    assert order.status == "filled" and order.average_price == Decimal("99.5")
    assert order.updated_at.isoformat() == "2026-01-01T00:01:00+00:00"
    # Older states are journaled all the same.
    assert list(Event.objects.filter(type="order").order_by("id").values_list("outcome", flat=True)) == [
        "created", "updated", "duplicate"]
    # A newer state never moves the status back.
    post(api, "/api/v1/orders/", {**ORDER, "status": "new", "updated_at": "2026-01-01T00:02:00Z"})
    assert Order.objects.get().status == "filled"


@pytest.mark.django_db
def test_order_same_time_other_content_is_409_and_other_symbol_is_409(api):
    post(api, "/api/v1/orders/", ORDER)
    response = post(api, "/api/v1/orders/", {**ORDER, "price": "101"})
    assert response.status_code == 409 and response.json()["errors"][0]["field"] == "price"
    response = post(api, "/api/v1/orders/", {**ORDER, "symbol": "ETHUSDT", "updated_at": "2026-01-02T00:00:00Z"})
    assert response.status_code == 409 and response.json()["errors"][0]["field"] == "symbol"
    assert Order.objects.get().price == Decimal("100")


@pytest.mark.django_db
def test_orders_created_and_updated_in_one_request(api):
    response = post(api, "/api/v1/orders/", [ORDER, {**ORDER, "status": "partially_filled",
                                                     "updated_at": "2026-01-01T00:00:05Z"}])
    assert [r["status"] for r in response.json()["results"]] == ["created", "updated"]
    assert Order.objects.get().status == "partially_filled"


@pytest.mark.django_db
def test_trade_open_patch_close_lifecycle(api, account):
    assert post(api, "/api/v1/trades/", OPEN).status_code == 201
    assert post(api, "/api/v1/trades/", OPEN).json()["results"][0]["status"] == "duplicate"
    assert post(api, "/api/v1/trades/", {**OPEN, "entry_price": "101"}).status_code == 409
    response = post(api, "/api/v1/trades/t1/", {"sl_price": "97", "tp_price": None, "metadata": {"rsi": 35}},
                    method="patch")
    assert response.status_code == 200 and response.json()["results"][0] == {"index": 0, "status": "updated",
                                                                             "id": "t1"}
    trade = Trade.objects.get()
    assert trade.sl_price == Decimal("97") and trade.tp_price is None and trade.metadata == {"rsi": 35}
    response = post(api, "/api/v1/trades/t1/close/", CLOSE)
    assert response.status_code == 200 and response.json()["results"][0]["status"] == "updated"
    trade = Trade.objects.get()
    assert trade.status == "closed" and trade.exit_price == Decimal("110") and trade.close_reason == "tp"
    # (110 − 100)·2·(+1) − 0.1 − 0.2
    assert trade.pnl == Decimal("19.7")
    assert post(api, "/api/v1/trades/t1/close/", CLOSE).json()["results"][0]["status"] == "duplicate"
    response = post(api, "/api/v1/trades/t1/close/", {**CLOSE, "exit_price": "111"})
    assert response.status_code == 409 and response.json()["errors"][0]["field"] == "exit_price"
    response = post(api, "/api/v1/trades/t1/", {"sl_price": "98"}, method="patch")
    assert response.status_code == 409
    assert Trade.objects.get().sl_price == Decimal("97") and Trade.objects.get().pnl == Decimal("19.7")


@pytest.mark.django_db
def test_short_trade_pnl_and_unknown_trade_is_404(api):
    post(api, "/api/v1/trades/", {**OPEN, "side": "short", "entry_fee": None})
    post(api, "/api/v1/trades/t1/close/", {**CLOSE, "exit_fee": "0.5"})
    assert Trade.objects.get().pnl == Decimal("-20.5")  # (110 − 100)·2·(−1) − 0 − 0.5
    assert post(api, "/api/v1/trades/nope/close/", CLOSE).status_code == 404
    assert post(api, "/api/v1/trades/nope/", {"sl_price": "1"}, method="patch").status_code == 404


@pytest.mark.django_db
def test_patch_with_a_different_id_in_the_body_is_400(api):
    post(api, "/api/v1/trades/", OPEN)
    assert post(api, "/api/v1/trades/t1/", {"id": "t2", "sl_price": "1"}, method="patch").status_code == 400


@pytest.mark.django_db
def test_void_marks_the_fill_void_keeps_it_and_journals(api, account):
    post(api, "/api/v1/fills/", [fill(1), fill(2)])
    response = post(api, "/api/v1/fills/void/", {"id": "f1", "symbol": "BTCUSDT", "reason": "test fill"})
    assert response.status_code == 200 and response.json()["results"][0]["status"] == "updated"
    voided = Fill.objects.get(external_id="f1")
    assert voided.voided_at is not None and voided.void_reason == "test fill"
    assert voided.price == Decimal("100.5")
    again = post(api, "/api/v1/fills/void/", {"id": "f1", "symbol": "BTCUSDT", "reason": "test fill"})
    assert again.json()["results"][0]["status"] == "duplicate"
    assert post(api, "/api/v1/fills/void/", {"id": "f9", "symbol": "BTCUSDT"}).status_code == 404
    assert Event.objects.filter(type="fill.void").count() == 2
    # Re-posting a voided fill is still a duplicate: voids are final.
    assert post(api, "/api/v1/fills/", fill(1)).json()["results"][0]["status"] == "duplicate"


@pytest.mark.django_db
def test_events_takes_a_json_list_of_every_type(api, account):
    items = [
        {"type": "fill", **fill(1)},
        {"type": "order", **ORDER},
        {"type": "trade.open", **OPEN},
        {"type": "trade.update", "id": "t1", "sl_price": "96"},
        {"type": "trade.close", "id": "t1", **CLOSE},
        *({"type": t, **SIMPLE[url][0]} for t, url in [
            ("signal", "/api/v1/signals/"), ("position", "/api/v1/positions/"), ("wallet", "/api/v1/wallets/"),
            ("equity", "/api/v1/equity/"), ("cashflow", "/api/v1/cashflows/"), ("mark", "/api/v1/marks/")]),
        {"type": "fill.void", "id": "f1", "symbol": "BTCUSDT", "reason": "bad"},
        {"type": "log", "level": "warning", "message": "exchange timeout, retrying"},
    ]
    response = post(api, "/api/v1/events/", items)
    assert response.status_code == 201, response.json()
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == ["created", "created", "created", "updated", "updated"] + ["created"] * 6 + [
        "updated", "created"]
    assert Trade.objects.get().status == "closed" and Trade.objects.get().sl_price == Decimal("96")
    assert Fill.objects.get().voided_at is not None
    assert Event.objects.filter(account=account).count() == len(items)
    log = Event.objects.get(type="log")
    assert log.raw["message"] == "exchange timeout, retrying"
    assert response.json()["results"][-1]["id"] == log.pk


@pytest.mark.django_db
def test_events_takes_ndjson_with_every_error_by_line(api, account):
    lines = [json.dumps({"type": "fill", **fill(n)}) for n in range(3)]
    body = "\n".join(lines) + "\n"
    response = post(api, "/api/v1/events/", body, content_type="application/x-ndjson")
    assert response.status_code == 201 and response.json()["counts"]["created"] == 3
    bad = lines[0] + "\n{not json\n" + json.dumps({"type": "nonsense"}) + "\n"
    response = post(api, "/api/v1/events/", bad, content_type="application/x-ndjson")
    assert response.status_code == 400
    assert Fill.objects.count() == 3


@pytest.mark.django_db
def test_events_item_without_type_is_400_and_fills_endpoint_refuses_other_types(api):
    assert post(api, "/api/v1/events/", fill(1)).status_code == 400
    response = post(api, "/api/v1/fills/", {"type": "order", **ORDER})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "type"


@pytest.mark.django_db
def test_unknown_fields_are_kept_in_meta_and_raw_in_the_journal(api):
    post(api, "/api/v1/fills/", '{"id": "f1", "symbol": "BTCUSDT", "side": "sell", "price": 1.10, "quantity": 3,'
                                ' "executed_at": 1767225600000, "exchange_extra": {"x": 0.30000000000000004}}')
    stored = Fill.objects.get()
    assert set(stored.meta) == {"exchange_extra"}
    event = Event.objects.get()
    assert event.raw["id"] == "f1" and "exchange_extra" in event.raw


@pytest.mark.django_db
def test_empty_list_and_non_object_bodies_are_400(api):
    assert post(api, "/api/v1/fills/", []).status_code == 400
    assert post(api, "/api/v1/fills/", "[1, 2]").status_code == 400
    assert post(api, "/api/v1/fills/", "not json").status_code == 400


@pytest.mark.django_db
def test_unknown_fields_of_a_trade_update_and_close_join_the_trades_meta(api):
    post(api, "/api/v1/trades/", {**OPEN, "exchange_note": "opened"})
    post(api, "/api/v1/trades/t1/", {"sl_price": "96", "trail_note": "tightened"}, method="patch")
    post(api, "/api/v1/trades/t1/close/", {**CLOSE, "exit_note": "tp hit"})
    assert Trade.objects.get().meta == {"exchange_note": "opened", "trail_note": "tightened", "exit_note": "tp hit"}
