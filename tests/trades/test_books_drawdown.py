"""Max drawdown is measured on the time-weighted return index: cash flows move neither it nor the return."""

from datetime import timedelta
from decimal import Decimal as D

import pytest

from tests.factories import T0, make_account, make_cash_flow, make_fill
from trades.books import apply_fills, summary
from trades.books.report import max_drawdown
from trades.books.rollup import DayRow

pytestmark = pytest.mark.django_db


def days(*returns: str) -> list[DayRow]:
    return [DayRow(day=T0.date() + timedelta(days=i), return_pct=D(r)) for i, r in enumerate(returns)]


def test_the_deepest_fall_of_the_chained_daily_returns():
    # index 1.10 → 0.99 (−10 % from the peak) → 1.089 → 0.9801 (−10.9 % from 1.10): 10.9 %
    assert max_drawdown(days("10", "-10", "10", "-10")) == D("10.90000000")
    assert max_drawdown(days("1", "2", "3")) == D("0E-8")
    assert max_drawdown([]) is None


def test_a_fall_from_the_start_counts_from_the_starting_index():
    assert max_drawdown(days("-5", "1")) == D("5.00000000")


def _day(n: int, hours: int = 12):
    return T0 + timedelta(days=n, hours=hours)


def _trade(account, n, side, price, quantity="1"):
    fill = make_fill(account, executed_at=_day(n), side=side, price=D(price), quantity=D(quantity),
                     symbol="BTCUSDT")
    apply_fills(account=account, fills=[fill])


def test_a_deposit_does_not_end_a_drawdown_and_a_withdrawal_is_not_a_loss():
    plain, flows = make_account(initial_capital=D("1000")), make_account(initial_capital=D("1000"))
    for account in (plain, flows):
        _trade(account, 0, "buy", "100", "5")
        _trade(account, 1, "sell", "80", "5")  # −100: equity 900, a 10 % drawdown
        _trade(account, 2, "buy", "80", "1")
        _trade(account, 3, "sell", "84", "1")  # +4
    # The same trading, with 2,000 deposited the day after the loss and 500 withdrawn later.
    make_cash_flow(flows, kind="deposit", amount=D("2000"), ts=_day(2, 6))
    make_cash_flow(flows, kind="withdrawal", amount=D("-500"), ts=_day(3, 18))
    a, b = summary(account=plain), summary(account=flows)
    assert a["max_drawdown"] == D("10.00000000")
    assert b["max_drawdown"] == a["max_drawdown"]
    assert b["equity"] - a["equity"] == D("1500")
    # The return is the trading's alone: −10 %, then +4 on what the account held that day
    # (904/900 without the deposit; 2,904/2,900 with it), the flows themselves no gain or loss.
    assert a["return_pct"] == D("-9.60000000")  # 0.9 × 904/900 − 1
    assert b["return_pct"] == D("-9.87586207")  # 0.9 × 2904/2900 − 1


def test_todays_return_is_split_at_todays_deposit():
    from django.utils import timezone

    now = timezone.now()
    if now.hour < 3:
        pytest.skip("needs three hours of today behind us")  # the trades and the deposit are all today's
    plain, deposited = make_account(initial_capital=D("10000")), make_account(initial_capital=D("10000"))
    for account in (plain, deposited):
        for hours, side, price in ((3, "buy", "100"), (2, "sell", "120")):
            fill = make_fill(account, executed_at=now - timedelta(hours=hours), side=side, price=D(price),
                             quantity=D("1"), symbol="BTCUSDT")
            apply_fills(account=account, fills=[fill])
    make_cash_flow(deposited, kind="deposit", amount=D("5000"), ts=now - timedelta(hours=1))
    a, b = summary(account=plain), summary(account=deposited)
    assert a["return_pct"] == D("0.20000000")  # +20 on 10,000
    assert b["return_pct"] == a["return_pct"]  # the deposit after the trading is not diluting it
    assert b["max_drawdown"] == a["max_drawdown"] == D("0E-8")
