"""Concurrent identical posts from several PROCESSES (not threads): one row, no 5xx.

Each child process is forked after the parent closed its database connections, so it
opens its own and posts through the whole API stack in its own transaction.
"""

import multiprocessing

import pytest
from django.db import connections

from tests.api.write_helpers import fill
from tests.conftest import client_for
from tests.factories import make_account
from trades.models import Event, Fill

PROCESSES = 4


def _post(secret: str, body: list, barrier, answers) -> None:
    import json

    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    try:
        barrier.wait(timeout=20)
        response = client.post("/api/v1/fills/", data=json.dumps(body), content_type="application/json")
        answers.put((response.status_code, response.json()))
    except Exception as exc:  # a leaked IntegrityError would land here
        answers.put(("exception", repr(exc)))
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_identical_batches_from_several_processes_make_one_row_each():
    account = make_account("alpha")
    make_account("charlie")
    secret = client_for(account).token_secret
    body = [fill(n) for n in range(100)]
    context = multiprocessing.get_context("fork")
    barrier, answers = context.Barrier(PROCESSES), context.Queue()
    connections.close_all()  # children must not share the parent's connection
    children = [context.Process(target=_post, args=(secret, body, barrier, answers)) for _ in range(PROCESSES)]
    for child in children:
        child.start()
    results = [answers.get(timeout=120) for _ in children]
    for child in children:
        child.join(timeout=30)
    statuses = [status for status, _ in results]
    assert all(status in (200, 201) for status in statuses), results
    assert sum(r["counts"]["created"] for _, r in results) == 100
    assert sum(r["counts"]["duplicate"] for _, r in results) == 100 * (PROCESSES - 1)
    assert Fill.objects.filter(account=account).count() == 100
    assert Event.objects.filter(account=account, type="fill").count() == 100 * PROCESSES


@pytest.mark.django_db(transaction=True)
def test_batches_of_several_parts_in_opposite_orders_make_one_row_each():
    """Parts are inserted one after the other (trades.ingest.service.PART), so two batches of the same
    fills in opposite orders may each hold keys the other waits for: the database breaks the
    deadlock and the loser runs again. Nothing is lost, nothing doubled, no 5xx."""
    from trades.ingest.service import PART

    account = make_account("alpha")
    secret = client_for(account).token_secret
    forward = [fill(n) for n in range(PART * 4)]
    bodies = [forward, forward[::-1]]
    context = multiprocessing.get_context("fork")
    barrier, answers = context.Barrier(len(bodies)), context.Queue()
    connections.close_all()
    children = [context.Process(target=_post, args=(secret, body, barrier, answers)) for body in bodies]
    for child in children:
        child.start()
    results = [answers.get(timeout=120) for _ in children]
    for child in children:
        child.join(timeout=30)
    assert [status for status, _ in results] == [201, 201] or sorted(s for s, _ in results) == [200, 201], results
    assert sum(r["counts"]["created"] for _, r in results) == len(forward)
    assert sum(r["counts"]["duplicate"] for _, r in results) == len(forward)
    assert Fill.objects.filter(account=account).count() == len(forward)
    assert Event.objects.filter(account=account, type="fill").count() == 2 * len(forward)
