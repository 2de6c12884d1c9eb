"""GET /api/v1/orders/, /orders/{id}/, /orders/{id}/fills/."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import T0, make_fill
from trades.models import Order

pytestmark = pytest.mark.django_db


def make_order(account, external_id, **fields):
    defaults = dict(symbol="BTCUSDT", side="buy", status="new", order_type="limit", price=Decimal("100"),
                    quantity=Decimal("1"), updated_at=T0, created_at=timezone.now(), received_at=timezone.now())
    defaults.update(fields)
    return Order.objects.create(account=account, external_id=external_id, **defaults)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def orders(account):
    return [
        make_order(account, "o1", status="filled", updated_at=T0, filled_quantity=Decimal("1"),
                   average_price=Decimal("100.5")),
        make_order(account, "o2", status="new", side="sell", symbol="ETHUSDT", updated_at=T0 + timedelta(hours=1)),
        make_order(account, "o3", status="canceled", updated_at=T0 + timedelta(hours=2), client_order_id="mine-3"),
    ]


@pytest.mark.parametrize("query, expected", [
    ("", ["o3", "o2", "o1"]),
    ("status=new", ["o2"]),
    ("status=filled", ["o1"]),
    ("side=sell", ["o2"]),
    ("symbol=BTCUSDT", ["o3", "o1"]),
    ("client_order_id=mine-3", ["o3"]),
    ("since=2026-01-01T01:00:00", ["o3", "o2"]),
    ("until=2026-01-01T01:00:00", ["o1"]),
])
def test_it_filters_orders(api, orders, query, expected):
    assert ids(api.get(f"/api/v1/orders/?{query}")) == expected


def test_a_bad_status_is_a_400_naming_it(api, orders):
    response = api.get("/api/v1/orders/?status=open")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "status"


def test_order_detail_and_its_fills(api, account, orders):
    body = api.get("/api/v1/orders/o1/").json()
    assert body["id"] == "o1" and body["status"] == "filled" and body["average_price"] == "100.5"
    make_fill(account, external_id="f1", order_id="o1", executed_at=T0)
    make_fill(account, external_id="f2", order_id="o1", executed_at=T0 + timedelta(seconds=1))
    make_fill(account, external_id="f3", order_id="o2")
    assert ids(api.get("/api/v1/orders/o1/fills/")) == ["f2", "f1"]
    assert ids(api.get("/api/v1/orders/o3/fills/")) == []
    assert api.get("/api/v1/orders/nope/fills/").status_code == 404


def test_charlie_sees_none_of_alphas_orders(charlie_api, account, orders):
    make_fill(account, external_id="f1", order_id="o1")
    assert ids(charlie_api.get("/api/v1/orders/")) == []
    assert charlie_api.get("/api/v1/orders/o1/").status_code == 404
    assert charlie_api.get("/api/v1/orders/o1/fills/").status_code == 404


def test_charlies_fill_with_the_same_order_id_is_not_alphas(api, account, other_account, orders):
    make_fill(other_account, external_id="theirs", order_id="o1")
    assert ids(api.get("/api/v1/orders/o1/fills/")) == []
