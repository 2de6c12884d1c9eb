"""Trade closes applied as a run (an importer or a source closes thousands in one request): the
same outcomes as one by one — duplicates, conflicts, unknown trades, unknown fields kept."""

from decimal import Decimal

import pytest

from core.errors import TradebookError
from tests.factories import make_account
from trades.ingest import record
from trades.models import Trade

pytestmark = pytest.mark.django_db


def opening(n: int) -> dict:
    return {"type": "trade.open", "id": f"t{n}", "symbol": "BTCUSDT", "side": "long" if n % 2 else "short",
            "quantity": "0.5", "entry_price": "100", "entry_time": "2025-01-01T00:00:00Z", "entry_fee": "0.05"}


def closing(n: int, price: str = "110", **extra) -> dict:
    return {"type": "trade.close", "id": f"t{n}", "exit_price": price, "exit_time": "2025-01-02T00:00:00Z",
            "exit_fee": "0.055", **extra}


def post(account, items):
    return record(accounts=[account], items=items, channel="test", default_account=account)


def test_a_run_of_closes_closes_each_trade_with_its_pnl():
    account = make_account()
    result = post(account, [opening(n) for n in range(1, 5)] + [closing(n) for n in range(1, 5)])
    assert result.counts == {"created": 4, "duplicate": 0, "updated": 4}
    pnl = dict(Trade.objects.filter(account=account).values_list("external_id", "pnl"))
    assert pnl == {"t1": Decimal("4.895"), "t2": Decimal("-5.105"), "t3": Decimal("4.895"), "t4": Decimal("-5.105")}
    assert set(Trade.objects.filter(account=account).values_list("status", flat=True)) == {"closed"}


def test_the_same_close_twice_in_a_run_is_a_duplicate_and_another_exit_a_conflict():
    account = make_account()
    post(account, [opening(1), opening(2)])
    result = post(account, [closing(1), closing(2), closing(1)])
    assert [r["status"] for r in result.results] == ["updated", "updated", "duplicate"]
    with pytest.raises(TradebookError) as caught:
        post(account, [closing(2), closing(1, price="111")])
    assert caught.value.status == 409
    assert [e["index"] for e in caught.value.errors] == [1]
    assert Trade.objects.get(account=account, external_id="t1").exit_price == Decimal("110")


def test_a_run_with_an_unknown_trade_writes_nothing():
    account = make_account()
    post(account, [opening(1)])
    with pytest.raises(TradebookError) as caught:
        post(account, [closing(1), closing(9)])
    assert (caught.value.status, caught.value.errors[0]["index"]) == (404, 1)
    assert Trade.objects.get(account=account, external_id="t1").status == "open"


def test_unknown_fields_of_a_close_in_a_run_join_the_trades_meta():
    account = make_account()
    post(account, [opening(1), opening(2)])
    post(account, [closing(1), closing(2, meta_note="kept")])
    trade = Trade.objects.get(account=account, external_id="t2")
    assert trade.status == "closed" and "kept" in str(trade.meta)
