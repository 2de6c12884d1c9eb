"""Celery tasks of the snapshot round and of retention. Thin: they take ids and call services.

Every task here is idempotent (`core.tasks.IDEMPOTENT`: the database refuses a
second snapshot of an interval; retention converges). Database connections are closed
or kept around every task by Django's own rule (tradebook.celery).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from core.tasks import IDEMPOTENT
from core.times import parse_time
from snapshots.retention import prune_snapshots
from snapshots.take import CREATED, active_account_ids, interval_start, take_snapshot
from trades.books import days_behind
from trades.tasks import roll_up_account

logger = logging.getLogger(__name__)

ROUND_TASK = "snapshots.round"


@shared_task(name=ROUND_TASK, soft_time_limit=120, time_limit=150, **IDEMPOTENT)
def snapshot_round(at: str | int | None = None) -> int:
    """Send one snapshot task per active account for the interval holding `at`.

    `at` is the time the round was scheduled: beat stamps it when it sends the
    round (tradebook.celery), so a round that waits in the queue still snapshots
    its own interval. Without it (run by hand), now.
    """
    bucket = interval_start(parse_time(at) if at is not None else timezone.now())
    # A snapshot run much later than its interval would stamp today's books with an old time.
    expires = bucket + timedelta(seconds=max(10 * settings.SNAPSHOT_INTERVAL, 600))
    account_ids = active_account_ids()
    for account_id in account_ids:
        # After commit: a round called inside a transaction sends nothing that could be rolled back.
        take_account_snapshot.apply_async_on_commit(args=(account_id, bucket.isoformat()), expires=expires)
    logger.info("snapshot round %s: %d accounts", bucket.isoformat(), len(account_ids))
    return len(account_ids)


@shared_task(name="snapshots.take", soft_time_limit=60, time_limit=90, **IDEMPOTENT)
def take_account_snapshot(account_id: int, at: str | int) -> str:
    """Take account `account_id`'s computed snapshot for the interval holding `at` (ISO time or epoch ms).

    Once an interval, it also asks for the account's daily roll-up when its stored days fall
    behind (a late fill, a void or an import dropped some; a new day began): reads never write,
    so this keeps the days current within an interval."""
    taken = take_snapshot(account_id=account_id, at=parse_time(at))
    if taken.status == CREATED and days_behind(account_id):
        roll_up_account.delay(account_id)
    return taken.status


@shared_task(name="snapshots.prune", soft_time_limit=3300, time_limit=3600, **IDEMPOTENT)
def prune_old_snapshots() -> int:
    """The nightly retention policy (snapshots.retention)."""
    result = prune_snapshots()
    logger.info("retention: deleted %s", result.deleted)
    return result.total
