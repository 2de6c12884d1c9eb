"""Max drawdown follows the equity series with the longer history."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from snapshots.models import EquitySnapshot
from tests.factories import T0, make_account
from trades.books import equity_curve_source
from trades.books.report import max_drawdown

pytestmark = pytest.mark.django_db


def snap(account, source, at, equity):
    bucket = at if source == "computed" else None
    EquitySnapshot.objects.create(account=account, source=source, exchange_ts=at, bucket=bucket,
                                  equity=Decimal(equity), received_at=timezone.now())


def test_no_snapshots_no_drawdown():
    assert max_drawdown(make_account()) is None


def test_a_long_reported_history_is_not_hidden_by_a_few_computed_snapshots():
    account = make_account()
    for day, equity in enumerate(["1000", "1200", "900", "1100"]):  # peak 1200 → 900: 25 %
        snap(account, "reported", T0 + timedelta(days=day), equity)
    for minute in range(3):
        snap(account, "computed", T0 + timedelta(days=30, minutes=minute), "1100")
    assert equity_curve_source(account) == "reported"
    assert max_drawdown(account) == Decimal("25")


def test_computed_snapshots_win_when_they_reach_as_far_back():
    account = make_account()
    snap(account, "computed", T0, "1000")
    snap(account, "computed", T0 + timedelta(days=1), "800")  # 20 %
    snap(account, "reported", T0 + timedelta(days=1), "1000")
    assert equity_curve_source(account) == "computed"
    assert max_drawdown(account) == Decimal("20")
