from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.models import Bot
from snapshots.models import EquitySnapshot, Mark, PositionSnapshot, WalletSnapshot
from snapshots.retention import cutoffs, prune_snapshots
from tests.factories import make_account

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 30, 12, 34, 56, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def policy(settings):
    settings.SNAPSHOT_RETENTION_DAYS = 7
    settings.SNAPSHOT_HOURLY_DAYS = 30


def mark(account, ts, symbol="BTCUSDT", price="100"):
    return Mark.objects.create(account=account, symbol=symbol, price=Decimal(price), ts=ts, received_at=NOW)


def position(account, ts, symbol="BTCUSDT", source="reported"):
    return PositionSnapshot.objects.create(
        account=account, symbol=symbol, side="long", size=Decimal("1"), exchange_ts=ts, received_at=NOW,
        source=source, bucket=ts if source == "computed" else None,
    )


def wallet(account, ts, coin="USDT"):
    return WalletSnapshot.objects.create(account=account, coin=coin, wallet_balance=Decimal("1"), exchange_ts=ts,
                                         received_at=NOW)


def equity(account, ts, bot=None, source="reported"):
    return EquitySnapshot.objects.create(account=account, bot=bot, equity=Decimal("1"), exchange_ts=ts,
                                         received_at=NOW, source=source,
                                         bucket=ts if source == "computed" else None)


def ids(model):
    return set(model.objects.values_list("pk", flat=True))


def test_the_zones_are_aligned_to_hours_and_days():
    raw_since, hourly_since = cutoffs(NOW)
    assert raw_since == datetime(2026, 6, 23, 12, tzinfo=UTC)
    assert hourly_since == datetime(2026, 5, 24, tzinfo=UTC)


def test_it_keeps_raw_rows_then_the_newest_of_each_hour_then_of_each_day():
    account = make_account()
    raw = [mark(account, NOW - timedelta(minutes=m)) for m in (1, 2, 3)]
    raw.append(mark(account, NOW - 7 * DAY + timedelta(minutes=30)))  # just inside the raw window
    hour = datetime(2026, 6, 15, 9, tzinfo=UTC)  # in the hourly zone
    in_hour = [mark(account, hour + timedelta(minutes=m)) for m in (0, 10, 59)]
    next_hour = [mark(account, hour + HOUR + timedelta(minutes=m)) for m in (5, 6)]
    day = datetime(2026, 3, 3, tzinfo=UTC)  # in the daily zone
    in_day = [mark(account, day + timedelta(hours=h)) for h in (0, 5, 23)]
    next_day = [mark(account, day + DAY + timedelta(hours=1))]

    result = prune_snapshots(now=NOW)

    kept = ids(Mark)
    assert {m.pk for m in raw} <= kept
    assert kept == {m.pk for m in raw} | {in_hour[-1].pk, next_hour[-1].pk, in_day[-1].pk, next_day[0].pk}
    assert result.deleted["marks"] == 2 + 1 + 2
    assert result.total == 5


def test_a_second_run_deletes_nothing():
    account = make_account()
    for minutes in range(0, 60 * 24 * 40, 37):  # 40 days, every 37 minutes
        position(account, NOW - timedelta(minutes=minutes))
    first = prune_snapshots(now=NOW)
    kept = ids(PositionSnapshot)
    second = prune_snapshots(now=NOW)
    assert first.total > 0
    assert second.total == 0 and ids(PositionSnapshot) == kept


def test_a_later_run_thins_what_has_aged_into_the_next_zone():
    account = make_account()
    day = datetime(2026, 6, 25, tzinfo=UTC)  # raw on NOW, hourly ten days later, daily 40 days later
    rows = [wallet(account, day + timedelta(minutes=m)) for m in range(0, 24 * 60, 20)]  # 72 rows
    assert prune_snapshots(now=NOW).total == 0
    prune_snapshots(now=NOW + 10 * DAY)
    assert WalletSnapshot.objects.count() == 24
    prune_snapshots(now=NOW + 40 * DAY)
    assert list(WalletSnapshot.objects.values_list("pk", flat=True)) == [rows[-1].pk]


def test_series_are_thinned_separately():
    account, other = make_account(), make_account()
    bot_a = Bot.objects.create(account=account, key="paper:a")
    bot_b = Bot.objects.create(account=account, key="paper:b")
    hour = datetime(2026, 6, 10, 4, tzinfo=UTC)
    t1, t2 = hour + timedelta(minutes=1), hour + timedelta(minutes=2)
    keep = set()
    # Each pair is one series; only its newer row survives.
    for make in (
        lambda t: position(account, t, "BTCUSDT"), lambda t: position(account, t, "ETHUSDT"),
        lambda t: position(account, t, "BTCUSDT", source="computed"), lambda t: position(other, t, "BTCUSDT"),
    ):
        make(t1)
        keep.add(("p", make(t2).pk))
    for make in (lambda t: wallet(account, t, "USDT"), lambda t: wallet(account, t, "BTC"),
                 lambda t: wallet(other, t, "USDT")):
        make(t1)
        keep.add(("w", make(t2).pk))
    for make in (lambda t: equity(account, t, bot_a), lambda t: equity(account, t, bot_b),
                 lambda t: equity(account, t), lambda t: equity(account, t, source="computed")):
        make(t1)
        keep.add(("e", make(t2).pk))
    for make in (lambda t: mark(account, t, "BTCUSDT"), lambda t: mark(account, t, "ETHUSDT"),
                 lambda t: mark(other, t, "BTCUSDT")):
        make(t1)
        keep.add(("m", make(t2).pk))

    result = prune_snapshots(now=NOW)

    assert {("p", pk) for pk in ids(PositionSnapshot)} | {("w", pk) for pk in ids(WalletSnapshot)} | {
        ("e", pk) for pk in ids(EquitySnapshot)} | {("m", pk) for pk in ids(Mark)} == keep
    assert result.deleted == {"marks": 3, "position snapshots": 4, "wallet snapshots": 3, "equity snapshots": 4}


def test_the_newest_mark_of_a_symbol_that_stopped_ticking_is_kept():
    account = make_account()
    old_day = datetime(2025, 1, 1, tzinfo=UTC)
    old = [mark(account, old_day + timedelta(hours=h), symbol="DOGEUSDT", price=str(h + 1)) for h in range(5)]
    prune_snapshots(now=NOW)
    assert list(Mark.objects.filter(symbol="DOGEUSDT").values_list("pk", flat=True)) == [old[-1].pk]


def test_small_batches_delete_the_same_rows():
    account = make_account()
    hour = datetime(2026, 6, 1, 3, tzinfo=UTC)
    rows = [equity(account, hour + timedelta(minutes=m)) for m in range(11)]
    result = prune_snapshots(now=NOW, batch_size=3)
    assert result.deleted["equity snapshots"] == 10
    assert ids(EquitySnapshot) == {rows[-1].pk}


def test_with_no_hourly_days_old_rows_go_straight_to_one_a_day(settings):
    settings.SNAPSHOT_HOURLY_DAYS = 0
    account = make_account()
    day = datetime(2026, 6, 1, tzinfo=UTC)
    rows = [mark(account, day + timedelta(hours=h)) for h in (1, 2, 13)]
    prune_snapshots(now=NOW)
    assert ids(Mark) == {rows[-1].pk}
