"""GET /api/v1/positions/, /positions/latest/, /wallets/, /wallets/latest/, /equity/, /marks/."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from snapshots.models import EquitySnapshot, Mark, PositionSnapshot, WalletSnapshot
from tests.conftest import client_for
from tests.factories import T0, make_account

pytestmark = pytest.mark.django_db


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def position(account, symbol, at, **fields):
    defaults = dict(side="long", size=Decimal("1"), received_at=timezone.now())
    defaults.update(fields)
    return PositionSnapshot.objects.create(account=account, symbol=symbol, exchange_ts=at, **defaults)


def wallet(account, coin, at, balance):
    return WalletSnapshot.objects.create(account=account, coin=coin, exchange_ts=at, wallet_balance=Decimal(balance),
                                         received_at=timezone.now())


def test_positions_latest_is_the_newest_per_symbol(api, account):
    position(account, "BTCUSDT", T0, size=Decimal("1"))
    position(account, "BTCUSDT", T0 + timedelta(minutes=2), size=Decimal("2.5"), mark_price=Decimal("43000.1"))
    position(account, "ETHUSDT", T0 + timedelta(minutes=1), side="short", size=Decimal("3"))
    position(account, "ETHUSDT", T0, size=Decimal("9"))
    body = api.get("/api/v1/positions/latest/").json()
    assert [(r["symbol"], r["size"]) for r in body["results"]] == [("BTCUSDT", "2.5"), ("ETHUSDT", "3")]
    assert body["results"][0]["mark_price"] == "43000.1"
    assert body["next"] is None
    assert [r["size"] for r in results(api.get("/api/v1/positions/latest/?symbol=ETHUSDT"))] == ["3"]
    # As of a time: the newest snapshot before `until`.
    # Same time: the later row (higher id) first.
    assert [r["size"] for r in results(api.get("/api/v1/positions/latest/?until=2026-01-01T00:01:00"))] == ["9", "1"]


def test_positions_latest_by_source(api, account):
    position(account, "BTCUSDT", T0, size=Decimal("1"))
    position(account, "BTCUSDT", T0 + timedelta(minutes=1), size=Decimal("2"), source="computed",
             bucket=T0 + timedelta(minutes=1))
    assert [r["size"] for r in results(api.get("/api/v1/positions/latest/"))] == ["2"]
    assert [r["size"] for r in results(api.get("/api/v1/positions/latest/?source=reported"))] == ["1"]


def test_latest_is_per_account_for_a_token_with_two(account):
    bravo = make_account("bravo")
    position(account, "BTCUSDT", T0, size=Decimal("1"))
    position(bravo, "BTCUSDT", T0 + timedelta(minutes=1), size=Decimal("2"))
    both = client_for(account, bravo)
    assert sorted(r["account"] for r in results(both.get("/api/v1/positions/latest/"))) == ["alpha", "bravo"]
    assert [r["size"] for r in results(both.get("/api/v1/positions/latest/?account=alpha"))] == ["1"]


def test_position_snapshots_list_and_filters(api, account):
    position(account, "BTCUSDT", T0)
    position(account, "BTCUSDT", T0 + timedelta(minutes=1), side="flat", size=Decimal("0"))
    assert [r["side"] for r in results(api.get("/api/v1/positions/"))] == ["flat", "long"]
    assert [r["side"] for r in results(api.get("/api/v1/positions/?side=long"))] == ["long"]
    bad = api.get("/api/v1/positions/?source=guessed")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "source"


def test_wallets_latest_is_the_newest_per_coin(api, account):
    wallet(account, "USDT", T0, "1000")
    wallet(account, "USDT", T0 + timedelta(minutes=5), "1010.123456789")
    wallet(account, "BTC", T0 + timedelta(minutes=1), "0.5")
    rows = results(api.get("/api/v1/wallets/latest/"))
    assert [(r["coin"], r["wallet_balance"]) for r in rows] == [("USDT", "1010.123456789"), ("BTC", "0.5")]
    assert len(results(api.get("/api/v1/wallets/"))) == 3
    assert len(results(api.get("/api/v1/wallets/?coin=BTC"))) == 1


def test_equity_snapshots_and_marks(api, account):
    EquitySnapshot.objects.create(account=account, equity=Decimal("10050.5"), exchange_ts=T0,
                                  received_at=timezone.now(), positions_count=1)
    EquitySnapshot.objects.create(account=account, equity=Decimal("10060"), exchange_ts=T0 + timedelta(minutes=1),
                                  received_at=timezone.now(), source="computed", bucket=T0 + timedelta(minutes=1))
    assert [r["equity"] for r in results(api.get("/api/v1/equity/"))] == ["10060", "10050.5"]
    assert [r["equity"] for r in results(api.get("/api/v1/equity/?source=reported"))] == ["10050.5"]
    Mark.objects.create(account=account, symbol="BTCUSDT", price=Decimal("42000.01"), ts=T0,
                        received_at=timezone.now())
    Mark.objects.create(account=account, symbol="ETHUSDT", price=Decimal("2500"), ts=T0 + timedelta(seconds=1),
                        received_at=timezone.now())
    assert [r["price"] for r in results(api.get("/api/v1/marks/"))] == ["2500", "42000.01"]
    assert [r["price"] for r in results(api.get("/api/v1/marks/?symbol=BTCUSDT"))] == ["42000.01"]


def test_charlie_sees_none_of_alphas_snapshots(charlie_api, account):
    position(account, "BTCUSDT", T0)
    wallet(account, "USDT", T0, "1")
    EquitySnapshot.objects.create(account=account, equity=Decimal("1"), exchange_ts=T0, received_at=timezone.now())
    Mark.objects.create(account=account, symbol="BTCUSDT", price=Decimal("1"), ts=T0, received_at=timezone.now())
    for url in ("/api/v1/positions/", "/api/v1/positions/latest/", "/api/v1/wallets/", "/api/v1/wallets/latest/",
                "/api/v1/equity/", "/api/v1/marks/"):
        assert results(charlie_api.get(url)) == [], url
        assert charlie_api.get(url + "?account=alpha").status_code == 404, url
