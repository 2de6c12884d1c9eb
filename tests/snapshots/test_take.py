import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from snapshots.models import EquitySnapshot, Mark, PositionSnapshot
from snapshots.take import CREATED, DUPLICATE, INACTIVE, MISSING, interval_start, take_snapshot
from tests.factories import T0, make_account, make_fill
from trades import books

pytestmark = pytest.mark.django_db
AT = datetime(2026, 3, 1, 12, 0, 42, 123456, tzinfo=UTC)  # 42 s into an interval
BUCKET = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def book(account, *fills):
    """Fills as the API would book them (PositionState kept by the books)."""
    rows = [make_fill(account, **f) for f in fills]
    books.recompute_symbols(account=account, symbols={r.symbol for r in rows})
    return rows


def mark(account, symbol, price, ts=T0 + timedelta(days=3650)):
    """Newer than any factory fill (their times grow with a session-wide counter)."""
    Mark.objects.create(account=account, symbol=symbol, price=Decimal(price), ts=ts, received_at=timezone.now())


def computed_equity(account):
    return EquitySnapshot.objects.filter(account=account, source="computed")


def computed_positions(account):
    return PositionSnapshot.objects.filter(account=account, source="computed")


def test_interval_start_floors_to_the_interval(settings):
    settings.SNAPSHOT_INTERVAL = 60
    assert interval_start(AT) == BUCKET
    assert interval_start(BUCKET) == BUCKET
    assert interval_start(BUCKET - timedelta(microseconds=1)) == BUCKET - timedelta(minutes=1)
    assert interval_start(AT, interval=300) == BUCKET
    assert interval_start(AT + timedelta(minutes=7), interval=300) == BUCKET + timedelta(minutes=5)
    assert interval_start(AT.replace(tzinfo=None)) == BUCKET  # naive is UTC


def test_it_writes_positions_and_equity_valued_at_marks(settings):
    settings.SNAPSHOT_INTERVAL = 60
    account = make_account(initial_capital=Decimal("10000"))
    book(account,
         dict(symbol="BTCUSDT", side="buy", price=Decimal("100"), quantity=Decimal("2")),
         dict(symbol="ETHUSDT", side="buy", price=Decimal("50"), quantity=Decimal("1")),
         dict(symbol="ETHUSDT", side="sell", price=Decimal("60"), quantity=Decimal("1")),
         dict(symbol="SOLUSDT", side="sell", price=Decimal("20"), quantity=Decimal("3")))
    mark(account, "BTCUSDT", "110.5")
    mark(account, "SOLUSDT", "18")

    taken = take_snapshot(account_id=account.pk, at=AT)

    assert taken.status == CREATED and taken.bucket == BUCKET and taken.positions == 2
    positions = {p.symbol: p for p in computed_positions(account)}
    assert set(positions) == {"BTCUSDT", "SOLUSDT"}  # ETH is flat: no row
    btc, sol = positions["BTCUSDT"], positions["SOLUSDT"]
    assert (btc.side, btc.size, btc.entry_price, btc.mark_price, btc.unrealized_pnl) == (
        "long", Decimal("2"), Decimal("100"), Decimal("110.5"), Decimal("21"))
    assert (sol.side, sol.size, sol.mark_price, sol.unrealized_pnl) == ("short", Decimal("3"), Decimal("18"), Decimal("6"))
    assert btc.bucket == btc.exchange_ts == BUCKET and btc.meta == {"mark_source": "mark", "fees": "0"}
    equity = computed_equity(account).get()
    # cash = 10000 + realized 10 (ETH); equity = cash + 21 + 6
    assert (equity.bucket, equity.exchange_ts, equity.bot) == (BUCKET, BUCKET, None)
    assert equity.cash == Decimal("10010")
    assert equity.equity == Decimal("10037")
    assert equity.unrealized_pnl == Decimal("27") and equity.realized_pnl == Decimal("10")
    assert equity.positions_value == Decimal("2") * Decimal("110.5") + Decimal("3") * Decimal("18")  # gross
    assert equity.positions_count == 2
    assert equity.returns_pct == Decimal("0.37")
    assert equity.initial_capital == Decimal("10000")
    assert equity.total_trades == books.valuation(account=account).closed_trades


def test_the_same_interval_is_taken_once_however_often_it_runs(settings):
    settings.SNAPSHOT_INTERVAL = 60
    account = make_account()
    book(account, dict(side="buy", price=Decimal("100"), quantity=Decimal("1")))

    first = take_snapshot(account_id=account.pk, at=AT)
    again = take_snapshot(account_id=account.pk, at=BUCKET + timedelta(seconds=59))

    assert (first.status, again.status) == (CREATED, DUPLICATE)
    assert computed_equity(account).count() == 1
    assert computed_positions(account).count() == 1


def test_the_next_interval_is_a_new_snapshot(settings):
    settings.SNAPSHOT_INTERVAL = 60
    account = make_account()
    take_snapshot(account_id=account.pk, at=AT)
    assert take_snapshot(account_id=account.pk, at=AT + timedelta(seconds=60)).status == CREATED
    assert sorted(computed_equity(account).values_list("bucket", flat=True)) == [BUCKET, BUCKET + timedelta(minutes=1)]


def test_an_account_with_no_fills_has_its_capital_as_equity():
    account = make_account(initial_capital=Decimal("2500.5"))
    take_snapshot(account_id=account.pk, at=AT)
    equity = computed_equity(account).get()
    assert (equity.equity, equity.cash, equity.positions_count, equity.returns_pct) == (
        Decimal("2500.5"), Decimal("2500.5"), 0, Decimal("0"))
    assert not computed_positions(account).exists()


def test_no_return_without_initial_capital():
    account = make_account(initial_capital=Decimal("0"))
    take_snapshot(account_id=account.pk, at=AT)
    assert computed_equity(account).get().returns_pct is None


def test_it_skips_an_inactive_account_unless_asked():
    account = make_account(is_active=False)
    assert take_snapshot(account_id=account.pk, at=AT).status == INACTIVE
    assert not computed_equity(account).exists()
    assert take_snapshot(account_id=account.pk, at=AT, include_inactive=True).status == CREATED


def test_a_deleted_account_is_reported_missing():
    assert take_snapshot(account_id=987654, at=AT).status == MISSING


def test_it_leaves_reported_snapshots_and_other_accounts_alone():
    account, other = make_account(), make_account()
    EquitySnapshot.objects.create(account=account, equity=Decimal("1"), exchange_ts=BUCKET, received_at=AT)
    take_snapshot(account_id=account.pk, at=AT)
    assert EquitySnapshot.objects.filter(account=account, source="reported").count() == 1
    assert computed_equity(account).count() == 1
    assert not EquitySnapshot.objects.filter(account=other).exists()


@pytest.mark.django_db(transaction=True)
def test_two_takers_racing_for_one_interval_write_one_snapshot(monkeypatch):
    """Both pass the cheap "already taken?" check, then race on the insert: the unique key decides."""
    account = make_account()
    book(account, dict(symbol="BTCUSDT", side="buy", price=Decimal("100"), quantity=Decimal("1")),
         dict(symbol="ETHUSDT", side="buy", price=Decimal("10"), quantity=Decimal("1")))
    both_valued = threading.Barrier(2, timeout=10)
    real_valuation = books.valuation

    def valuation_then_wait(*, account):
        value = real_valuation(account=account)
        both_valued.wait()  # both threads are past the check before either inserts
        return value

    monkeypatch.setattr(books, "valuation", valuation_then_wait)
    results = []

    def take():
        try:
            results.append(take_snapshot(account_id=account.pk, at=AT).status)
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert sorted(results) == [CREATED, DUPLICATE]
    assert computed_equity(account).count() == 1
    assert computed_positions(account).count() == 2  # the loser's positions were rolled back with it


def test_computed_amounts_are_stored_rounded_by_the_books_rule(settings):
    """A return of 1/3 % has endless digits: stored at 18 places, half-even, on both databases."""
    settings.SNAPSHOT_INTERVAL = 60
    account = make_account(initial_capital=Decimal("3"))
    book(account, dict(symbol="BTCUSDT", side="buy", price=Decimal("100"), quantity=Decimal("0.01")))
    mark(account, "BTCUSDT", "101")  # unrealized 0.01 → equity 3.01 → return 0.333…%

    take_snapshot(account_id=account.pk, at=AT)

    equity = computed_equity(account).get()
    assert equity.returns_pct == Decimal("0.333333333333333333")
    assert equity.equity == Decimal("3.01")
    assert computed_positions(account).get().unrealized_pnl == Decimal("0.01")
