"""GET /api/v1/accounts/{slug}/positions|summary|pnl|performance/."""

from datetime import timedelta
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from snapshots.models import Mark
from tests.conftest import client_for
from tests.factories import T0, make_fill
from trades.books import apply_fills

H = timedelta(hours=1)
ENDPOINTS = ["positions", "summary", "pnl", "performance"]


@pytest.fixture
def booked(account):
    fills = [
        make_fill(account, side="buy", price=D("100"), quantity=D("2"), fee=D("0.2"), fee_currency="USDT",
                  executed_at=T0),
        make_fill(account, side="sell", price=D("110"), quantity=D("1"), fee=D("0.1"), fee_currency="USDT",
                  executed_at=T0 + H),
    ]
    apply_fills(account=account, fills=fills)
    Mark.objects.create(account=account, symbol="BTCUSDT", price=D("120.5"), ts=T0 + 2 * H,
                        received_at=timezone.now())
    return account


def test_positions_are_computed_and_valued_at_the_mark(api, booked):
    r = api.get("/api/v1/accounts/alpha/positions/")
    assert r.status_code == 200
    [p] = r.json()["results"]
    assert p == {
        "symbol": "BTCUSDT", "quantity": "1", "average_price": "100", "realized_pnl": "10", "fees": "0.3",
        "unconverted_fees": {}, "mark_price": "120.5", "mark_source": "mark", "unrealized_pnl": "20.5",
        "fills": 2, "last_fill_at": p["last_fill_at"],
    }


def test_summary_has_every_key_of_the_spec_as_exact_strings(api, booked):
    r = api.get("/api/v1/accounts/alpha/summary/")
    assert r.status_code == 200
    body = r.json()
    for key in ["equity", "cash", "realized_pnl", "unrealized_pnl", "fees", "funding", "net_pnl", "return_pct",
                "open_positions", "fills", "closed_trades", "win_rate", "profit_factor", "avg_win", "avg_loss",
                "expectancy", "max_drawdown", "sharpe", "sortino", "marks", "reported"]:
        assert key in body, key
    assert body["equity"] == "10030.2"  # 10000 + 10 − 0.3 + 20.5
    assert body["net_pnl"] == "9.7"
    assert body["marks"]["BTCUSDT"]["source"] == "mark"
    assert set(body["reported"]) >= {"pnl", "equity", "wallets", "differences"}


def test_pnl_by_period(api, booked):
    r = api.get("/api/v1/accounts/alpha/pnl/?period=month")
    assert r.status_code == 200
    first = r.json()["results"][0]
    assert first["period"] == "2026-01-01" and first["realized_pnl"] == "10" and first["net_pnl"] == "9.7"


def test_pnl_defaults_to_days(api, booked):
    r = api.get("/api/v1/accounts/alpha/pnl/")
    assert r.status_code == 200 and r.json()["period"] == "day"


def test_a_bad_period_is_a_400_naming_it(api, booked):
    r = api.get("/api/v1/accounts/alpha/pnl/?period=fortnight")
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "period"


def test_performance_by_symbol(api, booked):
    r = api.get("/api/v1/accounts/alpha/performance/?by=symbol")
    assert r.status_code == 200
    assert r.json()["results"][0]["key"] == "BTCUSDT" and r.json()["results"][0]["net_pnl"] == "9.7"


def test_a_bad_breakdown_is_a_400_naming_it(api, booked):
    r = api.get("/api/v1/accounts/alpha/performance/?by=moon")
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "by"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_charlie_gets_404_on_alphas_books(charlie_api, booked, endpoint):
    r = charlie_api.get(f"/api/v1/accounts/alpha/{endpoint}/")
    assert r.status_code == 404
    missing = charlie_api.get(f"/api/v1/accounts/nobody/{endpoint}/")
    assert missing.status_code == 404
    # the same answer as for an account that does not exist (only the slug named differs)
    assert r.content.decode().replace("alpha", "nobody") == missing.content.decode()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_charlie_sees_only_his_own_books(charlie_api, booked, other_account, endpoint):
    r = charlie_api.get(f"/api/v1/accounts/charlie/{endpoint}/")
    assert r.status_code == 200
    assert "BTCUSDT" not in r.content.decode()


def test_a_token_with_both_accounts_reads_each(booked, other_account):
    client = client_for(booked, other_account)
    assert client.get("/api/v1/accounts/alpha/summary/").json()["fills"] == 2
    assert client.get("/api/v1/accounts/charlie/summary/").json()["fills"] == 0


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_without_a_token_it_is_refused(client, booked, endpoint):
    assert client.get(f"/api/v1/accounts/alpha/{endpoint}/").status_code == 401


def test_fills_posted_through_the_api_are_booked_and_verify(api, account):
    """End to end: ingest calls the books in its transaction; a late fill and a void recompute."""
    fills = [
        {"id": "a", "symbol": "ETHUSDT", "side": "buy", "price": "2000", "quantity": "1.5", "fee": "0.3",
         "fee_currency": "USDT", "executed_at": "2026-02-01T10:00:00Z"},
        {"id": "b", "symbol": "ETHUSDT", "side": "sell", "price": "2100", "quantity": "1", "fee": "0.2",
         "fee_currency": "USDT", "executed_at": "2026-02-01T12:00:00Z"},
    ]
    assert api.post("/api/v1/fills/", fills, format="json").status_code == 201
    late = {"id": "c", "symbol": "ETHUSDT", "side": "buy", "price": "1900", "quantity": "0.5",
            "executed_at": "2026-02-01T11:00:00Z"}
    assert api.post("/api/v1/fills/", late, format="json").status_code == 201
    [p] = api.get("/api/v1/accounts/alpha/positions/").json()["results"]
    # avg of 1.5 @2000 and 0.5 @1900 = 1975; sell 1 @2100 → 125
    assert (p["quantity"], p["average_price"], p["realized_pnl"], p["fees"]) == ("1", "1975", "125", "0.5")
    assert api.post("/api/v1/fills/void/", {"id": "c", "symbol": "ETHUSDT", "reason": "test"},
                    format="json").status_code == 200  # a void updates: nothing created
    [p] = api.get("/api/v1/accounts/alpha/positions/").json()["results"]
    assert (p["quantity"], p["average_price"], p["realized_pnl"], p["fills"]) == ("0.5", "2000", "100", 2)
    call_command("verify_ledger", stdout=StringIO())  # raises CommandError on any difference
