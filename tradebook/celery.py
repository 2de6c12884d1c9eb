"""The Celery app: configured from Django settings (CELERY_*), tasks found in the apps, beat's schedule.

Beat's schedule is built from settings when the app is configured:

- `snapshots.round` at every multiple of SNAPSHOT_INTERVAL seconds since the epoch
  (`on_the_interval`: ticks fall on the interval boundaries, whenever beat started);
  the round is stamped with the time beat sent it (`at`), so the interval it
  snapshots is the scheduled one even if it waits in the queue;
- `trades.sync_sources` every SOURCE_INTERVAL seconds: one sync task per enabled source
  (a bot's store tradebook follows; a sync of a source runs alone, by a database lock);
- nightly at NIGHTLY_AT (UTC): the daily PnL roll-up and the retention policy.

Any number of beats may run (by mistake or for availability): a second tick of
the same interval finds the snapshots taken and writes nothing — the guarantee is
the database's unique keys, not beat's uniqueness.
"""

import os
import time
from datetime import UTC, datetime, timedelta

from celery import Celery
from celery.schedules import crontab, schedstate, schedule
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradebook.settings")

app = Celery("tradebook")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class on_the_interval(schedule):  # noqa: N801 - named like celery's own schedules (crontab, solar)
    """Due at every multiple of `run_every` since the Unix epoch (UTC), e.g. :00 of each minute for 60 s."""

    def is_due(self, last_run_at: datetime) -> schedstate:
        seconds = self.run_every.total_seconds()
        now = self.now().timestamp()
        last = self.maybe_make_aware(last_run_at).timestamp()
        to_next_boundary = (now // seconds + 1) * seconds - now
        # Due once the clock has crossed a boundary since the last run; beat sleeps until the next one.
        return schedstate(is_due=now // seconds > last // seconds, next=to_next_boundary)

    def __repr__(self) -> str:
        return f"<on the interval: every {self.run_every.total_seconds():g}s>"

    def remaining_estimate(self, last_run_at: datetime) -> timedelta:
        return timedelta(seconds=self.is_due(last_run_at).next)


@app.on_after_configure.connect
def build_beat_schedule(sender: Celery, **_kwargs) -> None:
    from django.conf import settings

    interval = settings.SNAPSHOT_INTERVAL
    sender.conf.beat_schedule = {
        "snapshot-round": {
            "task": "snapshots.round",
            "schedule": on_the_interval(timedelta(seconds=interval)),
            # A round not started within its interval is superseded by the next one.
            "options": {"expires": interval},
        },
        "source-round": {
            "task": "trades.sync_sources",
            "schedule": on_the_interval(timedelta(seconds=settings.SOURCE_INTERVAL)),
            "options": {"expires": settings.SOURCE_INTERVAL},
        },
        "nightly-roll-up": {
            "task": "trades.roll_up_daily_pnl",
            "schedule": crontab(hour=settings.NIGHTLY_HOUR, minute=settings.NIGHTLY_MINUTE),
        },
        "nightly-retention": {
            "task": "snapshots.prune",
            "schedule": crontab(hour=settings.NIGHTLY_HOUR, minute=settings.NIGHTLY_MINUTE),
        },
    }


@before_task_publish.connect
def stamp_round_time(sender: str | None = None, body=None, **_kwargs) -> None:
    """Give a snapshot round the time it was sent (by beat: its scheduled tick) unless it has one."""
    if sender != "snapshots.round" or not isinstance(body, tuple | list) or len(body) < 2:
        return
    kwargs = body[1]
    if isinstance(kwargs, dict) and kwargs.get("at") is None:
        kwargs["at"] = datetime.now(UTC).isoformat()


@task_prerun.connect
@task_postrun.connect
def close_old_connections(sender=None, **_kwargs) -> None:
    """Django's per-request rule, per task: drop a connection past CONN_MAX_AGE or broken, re-arm health checks.

    With CONN_MAX_AGE=0 (the default) this closes the connection around every task,
    as Celery's fixup does; with CONN_MAX_AGE>0 a worker keeps its connection (a
    round of 1,000 accounts would otherwise open 1,000 connections). Eager tasks run
    inside the caller's transaction: leave its connection alone.
    """
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections as django_close_old_connections

    django_close_old_connections()


@setup_logging.connect
def log_as_django_says(loglevel=None, **_kwargs) -> None:
    """Workers and beat log as the web does (settings.LOGGING: one JSON object per line) instead of
    Celery's own format; `--loglevel` still sets the level."""
    import logging
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)


# Task start times by task id, in the process running them (a pool process runs one at a time; a
# thread pool several).
_started: dict[str, float] = {}


@task_prerun.connect
def _task_started(task_id=None, **_kwargs) -> None:
    if task_id:
        _started[task_id] = time.perf_counter()


@task_postrun.connect
def _task_ended(task_id=None, task=None, state=None, **_kwargs) -> None:
    """Each task's outcome and duration, into the metrics (core.metrics): SUCCESS, FAILURE, RETRY…"""
    from core import metrics

    started = _started.pop(task_id, None)
    name = getattr(task, "name", None) or "unknown"
    metrics.TASKS.labels(task=name, outcome=(state or "unknown").lower()).inc()
    if started is not None:
        metrics.TASK_DURATION.labels(task=name).observe(time.perf_counter() - started)


@worker_ready.connect
def _serve_metrics(**_kwargs) -> None:
    """CELERY_METRICS_PORT: the worker serves its machine's metrics folder (PROMETHEUS_MULTIPROC_DIR,
    where its pool processes write) on that port, without authentication (firewall it), for a
    machine that runs workers and no web process."""
    import logging

    from django.conf import settings

    from core import metrics

    if not settings.CELERY_METRICS_PORT:
        return
    if not metrics.MULTIPROCESS:
        # The tasks run in the pool's processes: the main process alone has nothing to show.
        logging.getLogger(__name__).warning("CELERY_METRICS_PORT is set but PROMETHEUS_MULTIPROC_DIR is not: "
                                            "no metrics are served")
        return
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    start_http_server(settings.CELERY_METRICS_PORT, registry=registry)
