"""GET /api/v1/fills/ and /fills/{id}/: filters, detail by key, account selection, isolation."""

from datetime import timedelta

import pytest

from accounts.models import Bot
from tests.conftest import client_for
from tests.factories import T0, make_account, make_fill

pytestmark = pytest.mark.django_db


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def fills(account):
    bot = Bot.objects.create(account=account, key="paper:BTC")
    return [
        make_fill(account, external_id="a", symbol="BTCUSDT", side="buy", executed_at=T0, bot=bot, order_id="o1"),
        make_fill(account, external_id="b", symbol="BTCUSDT", side="sell", executed_at=T0 + timedelta(hours=1),
                  order_id="o1", trade_id="t1"),
        make_fill(account, external_id="c", symbol="ETHUSDT", side="buy", executed_at=T0 + timedelta(hours=2),
                  trade_id="t1"),
    ]


@pytest.mark.parametrize("query, expected", [
    ("", ["c", "b", "a"]),
    ("symbol=BTCUSDT", ["b", "a"]),
    ("side=buy", ["c", "a"]),
    ("bot=paper:BTC", ["a"]),
    ("order_id=o1", ["b", "a"]),
    ("trade_id=t1", ["c", "b"]),
    ("since=2026-01-01T01:00:00", ["c", "b"]),
    ("until=2026-01-01T01:00:00Z", ["a"]),
    (f"since={int(T0.timestamp() * 1000) + 1}", ["c", "b"]),
    ("since=2026-01-01T00:30:00&until=2026-01-01T01:30:00", ["b"]),
    ("account=alpha", ["c", "b", "a"]),
])
def test_it_filters(api, fills, query, expected):
    assert ids(api.get(f"/api/v1/fills/?{query}")) == expected


@pytest.mark.parametrize("field, value", [("since", "yesterday"), ("until", "2026-13-01"), ("side", "long")])
def test_a_bad_filter_is_a_400_naming_it(api, fills, field, value):
    response = api.get(f"/api/v1/fills/?{field}={value}")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_voided_filter(api, account, fills):
    from django.utils import timezone

    from trades.models import Fill
    Fill.objects.filter(pk=fills[0].pk).update(voided_at=timezone.now(), void_reason="typo")
    assert ids(api.get("/api/v1/fills/?voided=true")) == ["a"]
    assert ids(api.get("/api/v1/fills/?voided=false")) == ["c", "b"]


def test_detail_by_key(api, fills):
    response = api.get("/api/v1/fills/b/")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "b" and body["account"] == "alpha" and body["side"] == "sell" and body["bot"] is None
    assert api.get("/api/v1/fills/nope/").status_code == 404


def test_same_id_in_two_symbols_needs_symbol(api, account):
    make_fill(account, external_id="7", symbol="BTCUSDT")
    make_fill(account, external_id="7", symbol="ETHUSDT")
    response = api.get("/api/v1/fills/7/")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "symbol"
    assert api.get("/api/v1/fills/7/?symbol=ETHUSDT").json()["symbol"] == "ETHUSDT"


def test_a_token_with_several_accounts_picks_with_account(account, other_account):
    bravo = make_account("bravo")
    make_fill(account, external_id="same", price=1)
    make_fill(bravo, external_id="same", price=2)
    both = client_for(account, bravo)
    response = both.get("/api/v1/fills/same/")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "account"
    assert both.get("/api/v1/fills/same/?account=bravo").json()["price"] == "2"
    assert ids(both.get("/api/v1/fills/?account=bravo")) == ["same"]
    assert len(ids(both.get("/api/v1/fills/"))) == 2
    # An account outside the token's scope answers as one that does not exist.
    assert both.get("/api/v1/fills/?account=charlie").status_code == 404
    assert both.get("/api/v1/fills/?account=nobody").status_code == 404
    assert both.get("/api/v1/fills/same/?account=charlie").status_code == 404


def test_charlie_sees_none_of_alphas_fills(charlie_api, fills):
    assert ids(charlie_api.get("/api/v1/fills/")) == []
    assert charlie_api.get("/api/v1/fills/a/").status_code == 404
    assert charlie_api.get("/api/v1/fills/?account=alpha").status_code == 404
