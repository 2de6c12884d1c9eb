"""Factories for tests: one place that knows how to make valid rows."""

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import Account, ApiToken
from accounts.tokens import issue_token
from trades.models import CashFlow, Fill

_seq = itertools.count(1)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_account(slug: str | None = None, **fields) -> Account:
    n = next(_seq)
    defaults = dict(name=f"Account {n}", exchange="bybit", kind="paper", base_currency="USDT",
                    initial_capital=Decimal("10000"))
    defaults.update(fields)
    return Account.objects.create(slug=slug or f"acct-{n}", **defaults)


def make_token(*accounts: Account, name: str | None = None) -> tuple[ApiToken, str]:
    return issue_token(name=name or f"token-{next(_seq)}", account_slugs=[a.slug for a in accounts])


def make_fill(account: Account, **fields) -> Fill:
    n = next(_seq)
    defaults = dict(external_id=f"f{n}", symbol="BTCUSDT", side="buy", price=Decimal("100"),
                    quantity=Decimal("1"), executed_at=T0 + timedelta(minutes=n), received_at=timezone.now())
    defaults.update(fields)
    return Fill.objects.create(account=account, **defaults)


def make_cash_flow(account: Account, **fields) -> CashFlow:
    n = next(_seq)
    defaults = dict(external_id=f"c{n}", kind="deposit", amount=Decimal("100"), currency="USDT",
                    ts=T0 + timedelta(minutes=n), received_at=timezone.now())
    defaults.update(fields)
    return CashFlow.objects.create(account=account, **defaults)
