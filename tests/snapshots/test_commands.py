from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from snapshots.models import EquitySnapshot, Mark, PositionSnapshot
from tests.factories import make_account, make_fill
from trades import books

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def computed(account):
    return EquitySnapshot.objects.filter(account=account, source="computed")


def test_snapshot_now_takes_every_active_account_at_once():
    alpha, bravo = make_account("alpha"), make_account("bravo")
    inactive = make_account("sleepy", is_active=False)
    make_fill(alpha, symbol="BTCUSDT", side="buy", price=Decimal("100"), quantity=Decimal("1"))
    books.recompute_symbols(account=alpha, symbols=["BTCUSDT"])

    out, err = run("snapshot_now")

    assert "2 account(s), 2 snapshot(s) taken with 1 position(s), 0 already taken" in out
    assert "snapshot: 2/2" in err  # the progress
    assert computed(alpha).count() == computed(bravo).count() == 1
    assert not computed(inactive).exists()
    bucket = computed(alpha).get().bucket
    assert timezone.now() - bucket < timedelta(seconds=120)
    assert PositionSnapshot.objects.get(account=alpha, source="computed").bucket == bucket


def test_snapshot_now_twice_in_one_interval_takes_nothing_more(settings):
    settings.SNAPSHOT_INTERVAL = 3600  # the two runs are surely in one interval
    account = make_account("alpha")
    run("snapshot_now")
    out, _ = run("snapshot_now")
    assert "1 account(s), 0 snapshot(s) taken with 0 position(s), 1 already taken" in out
    assert computed(account).count() == 1


def test_snapshot_now_for_one_account_even_inactive():
    make_account("alpha")
    sleepy = make_account("sleepy", is_active=False)
    out, _ = run("snapshot_now", "--account", "sleepy")
    assert "1 account(s), 1 snapshot(s) taken" in out
    assert list(EquitySnapshot.objects.values_list("account", flat=True)) == [sleepy.pk]


def test_snapshot_now_names_an_unknown_account():
    with pytest.raises(CommandError, match=r"No account 'nope'\."):
        run("snapshot_now", "--account", "nope")
    assert not EquitySnapshot.objects.exists()


def test_prune_snapshots_says_what_it_deleted(settings):
    settings.SNAPSHOT_RETENTION_DAYS, settings.SNAPSHOT_HOURLY_DAYS = 7, 30
    account = make_account()
    hour = (datetime.now(UTC) - timedelta(days=10)).replace(minute=0, second=0, microsecond=0)
    for minutes in (1, 2, 3):
        Mark.objects.create(account=account, symbol="BTCUSDT", price=1, ts=hour + timedelta(minutes=minutes),
                            received_at=hour)
    out, _ = run("prune_snapshots")
    assert "marks: 2 deleted" in out and "position snapshots: 0 deleted" in out
    assert "prune_snapshots: deleted 2 row(s)" in out
    assert Mark.objects.count() == 1
    out, _ = run("prune_snapshots", "--batch-size", "1")
    assert "prune_snapshots: deleted 0 row(s)" in out


def test_prune_snapshots_refuses_a_bad_batch_size():
    with pytest.raises(CommandError, match="--batch-size"):
        run("prune_snapshots", "--batch-size", "0")
