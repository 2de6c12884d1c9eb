"""trades.ingest takes its locks in one order for every request (keyed.lock_order): keyed items by
type, then by key as posted, whatever the order and the parts they were posted in — so two
requests of the same items wait for each other instead of deadlocking. The answer, the journal
and the errors still speak of the items as posted."""

import random

import pytest

from core.errors import TradebookError
from tests.factories import make_account
from trades.ingest import keyed, record, service
from trades.models import Event, Fill

pytestmark = pytest.mark.django_db


def fill(n: int, symbol: str = "BTCUSDT", **fields) -> dict:
    item = {"id": f"f{n:03d}", "symbol": symbol, "side": "buy", "price": "100", "quantity": "1",
            "executed_at": 1767225600000 + n * 1000}
    item.update(fields)
    return item


@pytest.fixture
def account():
    return make_account("alpha")


@pytest.fixture
def parts_of_three(monkeypatch):
    monkeypatch.setattr(service, "PART", 3)


def test_any_two_requests_agree_on_the_order_of_the_items_they_share():
    items = [fill(n, symbol) for n in range(20) for symbol in ("ETHUSDT", "BTCUSDT")]
    mark = {"type": "mark", "symbol": "BTCUSDT", "price": "1", "ts": 1767225600000}
    mixed = [{"type": "fill", **items[3]}, {"type": "order", "id": "o1"}, mark, {"type": "fill", **items[1]}]
    for seed in range(5):
        shuffled = items[:]
        random.Random(seed).shuffle(shuffled)
        subset = shuffled[: 10 + seed]
        ordered = [subset[i]["symbol"] + subset[i]["id"] for i in keyed.lock_order(subset, "fill")]
        assert ordered == sorted(ordered)
    # Types in KEYED_ORDER (fills before marks), items without a key after them as posted.
    assert keyed.lock_order(mixed, None) == [3, 0, 2, 1]


def test_a_request_in_parts_inserts_its_fills_in_key_order(account, parts_of_three):
    items = [fill(n) for n in range(10)]
    random.Random(1).shuffle(items)
    result = record(accounts=[account], items=items, item_type="fill")
    # The answer in posted order; the rows made in key order across every part (ids ascend with keys).
    assert [r["id"] for r in result.results] == [item["id"] for item in items]
    assert [r["index"] for r in result.results] == list(range(10))
    assert list(Fill.objects.order_by("pk").values_list("external_id", flat=True)) == [f"f{n:03d}" for n in range(10)]
    # The journal keeps the posted order.
    assert list(Event.objects.order_by("pk").values_list("item_key", flat=True)) == [item["id"] for item in items]


def test_errors_name_the_items_by_their_posted_index(account, parts_of_three):
    items = [fill(9), fill(1), fill(5, side="up"), fill(0), fill(3, price="abc")]
    with pytest.raises(TradebookError) as raised:
        record(accounts=[account], items=items, item_type="fill")
    assert [(e["index"], e["field"]) for e in raised.value.errors] == [(2, "side"), (4, "price")]
    assert Fill.objects.count() == 0


def test_the_same_key_twice_the_item_posted_first_counts(account, parts_of_three):
    items = [fill(7), fill(2), fill(4), fill(2, price="101"), fill(1)]
    with pytest.raises(TradebookError) as raised:
        record(accounts=[account], items=items, item_type="fill")
    assert raised.value.status == 409
    [error] = raised.value.errors
    assert error["index"] == 3
    assert error["message"].startswith("fill 'f002' (item 1) exists with different price")
    result = record(accounts=[account], items=[fill(2), fill(9), fill(2)], item_type="fill")
    assert [r["status"] for r in result.results] == ["created", "created", "duplicate"]
