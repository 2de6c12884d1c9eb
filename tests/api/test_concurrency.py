"""Concurrent identical writes: one row, every answer correct, no 5xx (SPEC 4.1, rules 1-2).

Real transactions (`transaction=True`) and real threads, each with its own database
connection, posting through the whole API stack at the same moment.
"""

import threading

import pytest
from django.db import connection

from core.errors import TradebookError
from tests.api.write_helpers import fill, post
from tests.conftest import client_for
from tests.factories import make_account
from trades.models import Event, Fill, Order, Trade

THREADS = 6


def _race(clients, url: str, body) -> list:
    barrier = threading.Barrier(len(clients))
    answers: list = [None] * len(clients)

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            response = post(clients[n], url, body)
            answers[n] = (response.status_code, response.json())
        except Exception as exc:  # a leaked IntegrityError would land here
            answers[n] = ("exception", repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return answers


@pytest.fixture
def alpha_clients(transactional_db):
    account = make_account("alpha")
    make_account("charlie")
    return account, [client_for(account) for _ in range(THREADS)]


@pytest.mark.django_db(transaction=True)
def test_identical_fills_posted_at_once_make_one_row_and_correct_answers(alpha_clients):
    account, clients = alpha_clients
    batch = [fill(n) for n in range(50)]
    answers = _race(clients, "/api/v1/fills/", batch)
    statuses = sorted(a[0] for a in answers)
    assert all(s in (200, 201) for s in statuses), answers
    assert statuses.count(201) >= 1
    assert Fill.objects.filter(account=account).count() == 50
    # Every fill created exactly once across all the answers; the others say duplicate.
    created = sum(a[1]["counts"]["created"] for a in answers)
    duplicates = sum(a[1]["counts"]["duplicate"] for a in answers)
    assert (created, duplicates) == (50, 50 * (THREADS - 1))
    assert Event.objects.filter(account=account).count() == 50 * THREADS


@pytest.mark.django_db(transaction=True)
def test_conflicting_fills_posted_at_once_one_wins_others_get_409(alpha_clients):
    account, clients = alpha_clients
    barrier_answers = _race(clients, "/api/v1/fills/", fill(1, price="100"))
    assert sorted(a[0] for a in barrier_answers)[-1] in (200, 201)
    stored = Fill.objects.get(account=account)
    # Now everyone posts a different price for the same key at once: all 409, row unchanged.
    answers = _race(clients, "/api/v1/fills/", fill(1, price="101"))
    assert [a[0] for a in answers] == [409] * THREADS, answers
    assert Fill.objects.get(account=account).price == stored.price


@pytest.mark.django_db(transaction=True)
def test_identical_orders_and_trade_opens_posted_at_once(alpha_clients):
    account, clients = alpha_clients
    order = {"id": "o1", "symbol": "BTCUSDT", "side": "buy", "status": "new", "updated_at": 1767225600000}
    answers = _race(clients, "/api/v1/orders/", order)
    assert sorted(a[0] for a in answers) == [200] * (THREADS - 1) + [201], answers
    assert Order.objects.filter(account=account).count() == 1
    trade = {"id": "t1", "symbol": "BTCUSDT", "side": "long", "quantity": "1", "entry_price": "100",
             "entry_time": 1767225600000}
    answers = _race(clients, "/api/v1/trades/", trade)
    assert sorted(a[0] for a in answers) == [200] * (THREADS - 1) + [201], answers
    close = {"exit_price": "110", "exit_time": 1767229200000}
    answers = _race(clients, "/api/v1/trades/t1/close/", close)
    assert [a[0] for a in answers] == [200] * THREADS, answers
    assert sorted(a[1]["results"][0]["status"] for a in answers) == ["duplicate"] * (THREADS - 1) + ["updated"]
    assert Trade.objects.get(account=account).status == "closed"


@pytest.mark.django_db(transaction=True)
def test_charlie_racing_alpha_writes_only_his_own(alpha_clients):
    account, clients = alpha_clients
    from accounts.models import Account

    charlie = client_for(Account.objects.get(slug="charlie"))
    answers = _race([clients[0], charlie], "/api/v1/fills/", fill(1))
    assert [a[0] for a in answers] == [201, 201]
    assert Fill.objects.filter(account=account).count() == 1
    assert Fill.objects.filter(account__slug="charlie").count() == 1


class _Deadlock(Exception):
    sqlstate = "40P01"


@pytest.mark.django_db(transaction=True)
def test_a_deadlock_or_serialization_failure_runs_the_request_again(alpha_clients, monkeypatch):
    from django.db import OperationalError

    from trades.ingest import bots

    account, clients = alpha_clients
    real = bots.register_bots
    calls = {"n": 0}

    def flaky(items):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("deadlock detected") from _Deadlock()
        return real(items)

    monkeypatch.setattr(bots, "register_bots", flaky)
    response = post(clients[0], "/api/v1/fills/", fill(1))
    assert response.status_code == 201 and calls["n"] == 2
    assert Fill.objects.filter(account=account).count() == 1
    assert Event.objects.filter(account=account).count() == 1


@pytest.mark.django_db(transaction=True)
def test_retries_are_bounded(alpha_clients, monkeypatch):
    from django.db import OperationalError

    from trades.ingest import bots, service

    account, clients = alpha_clients
    calls = {"n": 0}

    def always(items):
        calls["n"] += 1
        raise OperationalError("could not serialize access") from type("E", (Exception,), {"sqlstate": "40001"})()

    monkeypatch.setattr(bots, "register_bots", always)
    with pytest.raises(TradebookError) as raised:  # the API's 503: send it again
        service.record(accounts=[account], items=[fill(1)], item_type="fill")
    assert raised.value.status == 503
    assert calls["n"] == service.MAX_ATTEMPTS
    assert Fill.objects.count() == 0
