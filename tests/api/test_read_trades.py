"""GET /api/v1/trades/ (?status=open: a bot's recovery), /trades/{id}/, /trades/{id}/fills/."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import T0, make_fill
from trades.models import Trade

pytestmark = pytest.mark.django_db


def make_trade(account, external_id, **fields):
    now = timezone.now()
    defaults = dict(symbol="BTCUSDT", side="long", quantity=Decimal("0.5"), entry_price=Decimal("42000.5"),
                    entry_time=T0, opened_at=now, updated_at=now)
    defaults.update(fields)
    return Trade.objects.create(account=account, external_id=external_id, **defaults)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def trades(account):
    return [
        make_trade(account, "t1", status="closed", exit_price=Decimal("43000"), exit_time=T0 + timedelta(hours=3),
                   pnl=Decimal("499.75"), close_reason="tp"),
        make_trade(account, "t2", entry_time=T0 + timedelta(hours=1), symbol="ETHUSDT", side="short",
                   sl_price=Decimal("2600"), tp_price=Decimal("2300.25"), trail_percent=Decimal("1.5"),
                   leverage=Decimal("3"), model="xgb-v4", confidence=Decimal("0.83"), strategy="breakout",
                   regime="trend", metadata={"atr": "12.5"}),
        make_trade(account, "t3", entry_time=T0 + timedelta(hours=2), strategy="meanrev"),
    ]


def test_open_trades_come_back_with_their_whole_plan(api, trades):
    response = api.get("/api/v1/trades/?status=open")
    assert ids(response) == ["t3", "t2"]
    plan = response.json()["results"][1]
    assert {k: plan[k] for k in ("symbol", "side", "quantity", "entry_price", "sl_price", "tp_price",
                                  "trail_percent", "leverage", "model", "confidence", "strategy", "regime",
                                  "metadata", "status")} == {
        "symbol": "ETHUSDT", "side": "short", "quantity": "0.5", "entry_price": "42000.5", "sl_price": "2600",
        "tp_price": "2300.25", "trail_percent": "1.5", "leverage": "3", "model": "xgb-v4", "confidence": "0.83",
        "strategy": "breakout", "regime": "trend", "metadata": {"atr": "12.5"}, "status": "open",
    }
    assert plan["entry_time"] == "2026-01-01T01:00:00Z"


@pytest.mark.parametrize("query, expected", [
    ("status=closed", ["t1"]),
    ("symbol=BTCUSDT", ["t3", "t1"]),
    ("side=short", ["t2"]),
    ("strategy=meanrev", ["t3"]),
    ("model=xgb-v4&regime=trend", ["t2"]),
    ("since=2026-01-01T01:00:00&status=open", ["t3", "t2"]),
    ("until=2026-01-01T01:00:00", ["t1"]),
])
def test_it_filters_trades(api, trades, query, expected):
    assert ids(api.get(f"/api/v1/trades/?{query}")) == expected


def test_a_bad_status_is_a_400_naming_it(api, trades):
    response = api.get("/api/v1/trades/?status=maybe")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "status"


def test_trade_detail_and_its_fills(api, account, trades):
    body = api.get("/api/v1/trades/t1/").json()
    assert body["status"] == "closed" and body["pnl"] == "499.75" and body["exit_price"] == "43000"
    make_fill(account, external_id="in", trade_id="t1", executed_at=T0)
    make_fill(account, external_id="out", trade_id="t1", side="sell", executed_at=T0 + timedelta(hours=3))
    make_fill(account, external_id="other", trade_id="t2")
    assert ids(api.get("/api/v1/trades/t1/fills/")) == ["out", "in"]
    assert ids(api.get("/api/v1/trades/t1/fills/?side=buy")) == ["in"]
    assert api.get("/api/v1/trades/nope/").status_code == 404


def test_charlie_sees_none_of_alphas_trades(charlie_api, account, trades):
    make_fill(account, trade_id="t1")
    assert ids(charlie_api.get("/api/v1/trades/?status=open")) == []
    assert charlie_api.get("/api/v1/trades/t1/").status_code == 404
    assert charlie_api.get("/api/v1/trades/t1/fills/").status_code == 404
