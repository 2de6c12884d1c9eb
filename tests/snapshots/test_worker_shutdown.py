"""A Celery worker stopped with SIGTERM (a deploy, a scale-down) finishes the task it is running
before it exits — Celery's warm shutdown — on a real worker, a real broker and the test database."""

from __future__ import annotations

import os
import signal
import time
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from snapshots.models import EquitySnapshot, SnapshotSource
from tests.snapshots.test_worker import BUCKET, broker, computed_per_account, trading_account, workers  # noqa: F401

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


class Rollback(Exception):
    pass


def test_sigterm_mid_task_lets_the_task_finish_and_the_worker_exit(broker, workers):  # noqa: F811
    account = trading_account()
    worker = workers(pool="prefork", concurrency=1)
    # The test holds the interval's snapshot row in a transaction of its own, not committed: the
    # task's INSERT of the same (account, bucket) waits for it (on SQLite, for the write lock), so
    # the task is surely running when the worker is told to stop.
    with pytest.raises(Rollback), transaction.atomic():
        EquitySnapshot.objects.create(account=account, source=SnapshotSource.COMPUTED, equity=Decimal("1"),
                                      exchange_ts=BUCKET, bucket=BUCKET, received_at=timezone.now())
        broker.send("snapshots.take", account.pk, BUCKET.isoformat())
        worker.wait_for("snapshots.take[", timeout=30)
        time.sleep(1.5)
        os.kill(worker.process.pid, signal.SIGTERM)
        time.sleep(1.5)
        assert worker.process.poll() is None, f"the worker did not wait for its task:\n{worker.text()[-3000:]}"
        raise Rollback  # the task's INSERT goes through now
    assert worker.process.wait(60) == 0, worker.text()[-3000:]
    log = worker.text()
    assert "succeeded in" in log and "'created'" in log, log[-3000:]
    assert computed_per_account() == {account.pk: 1}
    [snapshot] = EquitySnapshot.objects.filter(source=SnapshotSource.COMPUTED)
    assert snapshot.equity != Decimal("1")  # the task's, not the test's rolled-back row
