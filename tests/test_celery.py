"""tradebook.celery's signals: every task's outcome and duration counted for GET /metrics, and the
workers' logs formatted as the web's (settings.LOGGING)."""

import json
import logging
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError
from prometheus_client import REGISTRY

from core.logs import JsonFormatter
from snapshots import tasks
from tests.factories import make_account
from tradebook.celery import app, log_as_django_says

pytestmark = pytest.mark.django_db
AT = datetime(2026, 3, 1, 12, 0, 42, tzinfo=UTC)


@pytest.fixture
def eager():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_task_outcomes_and_durations_are_counted(eager, monkeypatch):
    account = make_account()
    success = value("tradebook_celery_tasks_total", task="snapshots.take", outcome="success")
    failure = value("tradebook_celery_tasks_total", task="snapshots.take", outcome="failure")
    timed = value("tradebook_celery_task_duration_seconds_count", task="snapshots.take")
    assert tasks.take_account_snapshot.delay(account.pk, AT.isoformat()).get() == "created"

    def broken(**kwargs):
        raise IntegrityError("a bug")

    monkeypatch.setattr(tasks, "take_snapshot", broken)
    with pytest.raises(IntegrityError):
        tasks.take_account_snapshot.delay(account.pk, AT.isoformat()).get()
    assert value("tradebook_celery_tasks_total", task="snapshots.take", outcome="success") == success + 1
    assert value("tradebook_celery_tasks_total", task="snapshots.take", outcome="failure") == failure + 1
    assert value("tradebook_celery_task_duration_seconds_count", task="snapshots.take") == timed + 2


def test_workers_log_json_lines_at_the_level_they_were_given():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        log_as_django_says(loglevel="WARNING")
        assert root.level == logging.WARNING
        assert [type(h.formatter) for h in root.handlers] == [JsonFormatter]
        record = logging.LogRecord("celery.worker", logging.WARNING, __file__, 1, "celery@host ready.", (), None)
        assert json.loads(root.handlers[0].format(record))["message"] == "celery@host ready."
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
