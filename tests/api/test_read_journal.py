"""GET /api/v1/events/, /signals/, /cashflows/: filters and isolation."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Bot
from tests.factories import T0, make_cash_flow, make_token
from trades.models import Event, Signal

pytestmark = pytest.mark.django_db


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def make_event(account, type_, key, at, **fields):
    return Event.objects.create(account=account, type=type_, item_key=key, outcome="created", raw={"id": key, **fields},
                                received_at=at)


def make_signal(account, value, at, **fields):
    return Signal.objects.create(account=account, value=value, generated_at=at, received_at=timezone.now(),
                                 symbol=fields.pop("symbol", "BTCUSDT"), **fields)


def test_events_newest_first_filtered_by_type_and_symbol(api, account):
    token, _ = make_token(account, name="bot-token")
    make_event(account, "fill", "f1", T0, symbol="BTCUSDT")
    make_event(account, "order", "o1", T0 + timedelta(minutes=1), symbol="ETHUSDT")
    Event.objects.create(account=account, type="log", raw={"message": "hi"}, received_at=T0 + timedelta(minutes=2),
                         token=token, channel="import_events")
    rows = results(api.get("/api/v1/events/"))
    assert [r["type"] for r in rows] == ["log", "order", "fill"]
    assert rows[0]["token"] == "bot-token" and rows[0]["raw"] == {"message": "hi"}
    assert [r["id"] for r in results(api.get("/api/v1/events/?type=fill"))] == ["f1"]
    assert [r["id"] for r in results(api.get("/api/v1/events/?symbol=ETHUSDT"))] == ["o1"]
    assert [r["type"] for r in results(api.get("/api/v1/events/?channel=import_events"))] == ["log"]
    assert [r["id"] for r in results(api.get("/api/v1/events/?id=o1"))] == ["o1"]
    assert len(results(api.get("/api/v1/events/?outcome=created"))) == 2
    assert api.get("/api/v1/events/?outcome=maybe").status_code == 400
    assert len(results(api.get("/api/v1/events/?since=2026-01-01T00:01:00"))) == 2


def test_events_keep_raw_decimals_exact(api, account):
    Event.objects.create(account=account, type="fill", raw={"price": "0.1000000000000000001"}, received_at=T0)
    assert results(api.get("/api/v1/events/"))[0]["raw"]["price"] == "0.1000000000000000001"


def test_signals_by_value_strategy_and_bot(api, account):
    bot = Bot.objects.create(account=account, key="paper:s")
    make_signal(account, 1, T0, strength=Decimal("0.7"), strategy="rsi", external_id="s1", bot=bot)
    make_signal(account, -1, T0 + timedelta(minutes=1), strategy="macd", metadata={"rsi": 71})
    make_signal(account, 0, T0 + timedelta(minutes=2), symbol="ETHUSDT")
    assert [r["value"] for r in results(api.get("/api/v1/signals/"))] == [0, -1, 1]
    assert [r["value"] for r in results(api.get("/api/v1/signals/?value=-1"))] == [-1]
    row = results(api.get("/api/v1/signals/?value=1"))[0]
    assert row["strength"] == "0.7" and row["id"] == "s1" and row["bot"] == "paper:s"
    assert len(results(api.get("/api/v1/signals/?strategy=macd"))) == 1
    assert len(results(api.get("/api/v1/signals/?bot=paper:s"))) == 1
    assert len(results(api.get("/api/v1/signals/?symbol=ETHUSDT"))) == 1
    bad = api.get("/api/v1/signals/?value=2")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "value"


def test_cash_flows_by_kind_and_time(api, account):
    make_cash_flow(account, external_id="dep", kind="deposit", amount=Decimal("1000"), ts=T0)
    make_cash_flow(account, external_id="fund", kind="funding", amount=Decimal("-0.0123"), symbol="BTCUSDT",
                   ts=T0 + timedelta(hours=8))
    rows = results(api.get("/api/v1/cashflows/"))
    assert [r["id"] for r in rows] == ["fund", "dep"]
    assert rows[0]["amount"] == "-0.0123"
    assert [r["id"] for r in results(api.get("/api/v1/cashflows/?kind=deposit"))] == ["dep"]
    assert [r["id"] for r in results(api.get("/api/v1/cashflows/?symbol=BTCUSDT"))] == ["fund"]
    assert [r["id"] for r in results(api.get("/api/v1/cashflows/?until=2026-01-01T01:00:00"))] == ["dep"]
    bad = api.get("/api/v1/cashflows/?kind=gift")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "kind"


def test_charlie_sees_none_of_alphas_journal(charlie_api, account):
    make_event(account, "fill", "f1", T0)
    make_signal(account, 1, T0)
    make_cash_flow(account)
    for url in ("/api/v1/events/", "/api/v1/signals/", "/api/v1/cashflows/"):
        assert results(charlie_api.get(url)) == []
        assert charlie_api.get(url + "?account=alpha").status_code == 404


def test_events_show_a_posted_json_number_with_every_digit(api, account):
    from trades.ingest import record
    record(accounts=[account], default_account=account, items=[
        {"type": "fill", "id": "n1", "symbol": "BTCUSDT", "side": "buy", "price": Decimal("0.12345678901234567"),
         "quantity": Decimal("1"), "executed_at": "2026-01-01T00:00:00Z"}])
    raw = results(api.get("/api/v1/events/?type=fill"))[0]["raw"]
    assert raw["price"] == "0.12345678901234567"
