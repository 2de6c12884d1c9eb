"""Nightly roll-up of daily PnL (SPEC 6): one task per account, each idempotent (DailyPnl upsert)."""

from __future__ import annotations

from celery import shared_task

from accounts.models import Account
from core.tasks import IDEMPOTENT
from trades import books


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
