"""tradebook's Prometheus metrics: defined once here, recorded by any process (web or worker), served
by GET /metrics (trades.api.metrics).

With PROMETHEUS_MULTIPROC_DIR set, prometheus-client keeps every process's samples in files of
that folder and /metrics adds them up, so the several gunicorn workers (and Celery's pool
processes, given the same folder on the same machine) answer one consistent set of counters
whichever worker is scraped. The folder is read when prometheus_client is first imported: it
must be in the environment before the process starts (gunicorn.conf.py sees to it for gunicorn).
Without it each process counts for itself, which is right for one process (tests, a shell).
"""

from __future__ import annotations

import os
from collections import Counter as Tally
from collections.abc import Iterable

_folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _folder:
    os.makedirs(_folder, exist_ok=True)  # before the first metric opens its file there

import prometheus_client  # noqa: E402 - after the folder exists
from prometheus_client import Counter, Histogram  # noqa: E402

# `_created` series are not kept in multiprocess mode; leave them out everywhere, so one process
# answers what several do.
prometheus_client.disable_created_metrics()

MULTIPROCESS = bool(_folder)

# Request latency: a single fill takes milliseconds, a 10,000-item batch about a second.
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

HTTP_REQUESTS = Counter(
    "tradebook_http_requests", "HTTP requests answered, by method, route (the URL pattern) and status.",
    ["method", "route", "status"])
HTTP_DURATION = Histogram(
    "tradebook_http_request_duration_seconds", "Time to answer an HTTP request, by method and route.",
    ["method", "route"], buckets=LATENCY_BUCKETS)
ITEMS = Counter(
    "tradebook_items_ingested",
    "Items posted to the write path (API, imports, sources), by type and outcome: created, duplicate, "
    "updated, or the status that refused the request (400, 404, 409, 503), every item of it.",
    ["type", "outcome"])
DATABASE_RETRIES = Counter(
    "tradebook_database_retries",
    "Write requests run again after a race in the database: deadlock, serialization, race (an order "
    "created concurrently).",
    ["reason"])
DATABASE_UNAVAILABLE = Counter(
    "tradebook_database_unavailable",
    "Requests answered 503: the database away (unavailable) or writes colliding past the retries (contention).",
    ["reason"])
TASKS = Counter(
    "tradebook_celery_tasks", "Celery tasks ended, by task and outcome (success, failure, retry, ignored).",
    ["task", "outcome"])
TASK_DURATION = Histogram(
    "tradebook_celery_task_duration_seconds", "Time a Celery task ran, by task.", ["task"], buckets=TASK_BUCKETS)


# Every family is declared from the start, at 0: in multiprocess mode a family is answered only
# once some process has a sample of it, and "no 503 since the restart" is a 0, not a missing series.
for _reason in ("unavailable", "contention"):
    DATABASE_UNAVAILABLE.labels(reason=_reason)
for _reason in ("deadlock", "serialization", "race"):
    DATABASE_RETRIES.labels(reason=_reason)


def count_items(types: Iterable[str], outcomes: Iterable[str]) -> None:
    """Count a request's items, one increment per (type, outcome) rather than per item."""
    for (type_name, outcome), n in Tally(zip(types, outcomes, strict=True)).items():
        ITEMS.labels(type=type_name, outcome=outcome).inc(n)


def process_ended(pid: int) -> None:
    """A process that wrote samples is gone (a gunicorn worker, a Celery pool process): its
    counters stay counted, its live gauges go (prometheus-client's multiprocess rule)."""
    if MULTIPROCESS:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
