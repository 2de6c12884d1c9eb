"""Nightly roll-up of daily PnL (SPEC 6): one task per account, each idempotent (DailyPnl upsert)."""

from __future__ import annotations

import logging

from celery import shared_task

from accounts.models import Account
from core.tasks import IDEMPOTENT
from trades import books

logger = logging.getLogger(__name__)


@shared_task(name="trades.roll_up_daily_pnl", soft_time_limit=120, time_limit=150, **IDEMPOTENT)
def roll_up_daily_pnl() -> int:
    """Send one roll-up per account (inactive ones too: their history still needs its days)."""
    account_ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
    for account_id in account_ids:
        roll_up_account.apply_async_on_commit(args=(account_id,))
    return len(account_ids)


@shared_task(name="trades.roll_up_account", soft_time_limit=600, time_limit=660, **IDEMPOTENT)
def roll_up_account(account_id: int) -> int:
    """Upsert account `account_id`'s DailyPnl rows (trades.books.roll_up_days); returns the days written."""
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        return 0
    return books.roll_up_days(account=account)


# -- sources (SPEC 6) --------------------------------------------------------------------------------

@shared_task(name="trades.sync_sources", soft_time_limit=60, time_limit=90, **IDEMPOTENT)
def sync_sources() -> int:
    """Beat's round, every SOURCE_INTERVAL: one sync task per enabled source (each its own, so a
    source that cannot be read, or a long first sync, holds up no other)."""
    from django.conf import settings

    from trades.models import Source

    source_ids = list(Source.objects.filter(enabled=True).order_by("pk").values_list("pk", flat=True))
    for source_id in source_ids:
        # A sync not started within two intervals is superseded by a later round's.
        sync_one_source.apply_async_on_commit(args=(source_id,), expires=2 * settings.SOURCE_INTERVAL)
    return len(source_ids)


@shared_task(name="trades.sync_source", soft_time_limit=240, time_limit=300, **IDEMPOTENT)
def sync_one_source(source_id: int) -> str:
    """Sync source `source_id` (trades.sources.sync): safe twice or at once — a second sync of the
    same source skips; a killed one lost only its open batch, which the next one reads again."""
    from trades.models import Source
    from trades.sources.sync import sync_source

    if not Source.objects.filter(pk=source_id, enabled=True).exists():
        return "gone"
    result = sync_source(source_id=source_id)
    logger.info("%s", result.line())
    return result.status
