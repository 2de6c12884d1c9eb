"""The tasks, run eagerly (in this process). tests/snapshots/test_worker.py runs them on a real worker."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, InterfaceError, OperationalError

from snapshots import tasks
from snapshots.models import EquitySnapshot, Mark, PositionSnapshot
from tests.factories import make_account, make_fill
from tradebook.celery import app, build_beat_schedule, on_the_interval, stamp_round_time
from trades import books
from trades import tasks as trade_tasks
from trades.models import DailyPnl

pytestmark = pytest.mark.django_db
AT = datetime(2026, 3, 1, 12, 0, 42, tzinfo=UTC)
BUCKET = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def eager():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def computed(account=None):
    qs = EquitySnapshot.objects.filter(source="computed")
    return qs.filter(account=account) if account else qs


def test_a_round_snapshots_every_active_account_for_its_scheduled_interval(eager, settings,
                                                                          django_capture_on_commit_callbacks):
    settings.SNAPSHOT_INTERVAL = 60
    alpha, bravo, inactive = make_account(), make_account(), make_account(is_active=False)
    make_fill(alpha, symbol="BTCUSDT", side="buy", price=Decimal("100"), quantity=Decimal("1"))
    books.recompute_symbols(account=alpha, symbols=["BTCUSDT"])

    with django_capture_on_commit_callbacks(execute=True) as sent:
        assert tasks.snapshot_round.delay(at=AT.isoformat()).get() == 2

    assert len(sent) == 2  # one task per active account, sent after commit
    assert set(computed().values_list("account", "bucket")) == {(alpha.pk, BUCKET), (bravo.pk, BUCKET)}
    assert PositionSnapshot.objects.filter(source="computed", account=alpha, bucket=BUCKET).count() == 1
    assert not computed(inactive).exists()


def test_rounds_of_one_interval_write_one_snapshot_per_account(eager, settings, django_capture_on_commit_callbacks):
    settings.SNAPSHOT_INTERVAL = 60
    accounts = [make_account() for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        for seconds in (0, 1, 30, 59):  # four beats in one interval
            tasks.snapshot_round.delay(at=(BUCKET + timedelta(seconds=seconds)).isoformat())
        tasks.snapshot_round.delay(at=(BUCKET + timedelta(seconds=60)).isoformat())  # the next one
    for account in accounts:
        assert sorted(computed(account).values_list("bucket", flat=True)) == [BUCKET, BUCKET + timedelta(minutes=1)]


def test_the_round_takes_epoch_milliseconds_too(eager, settings, django_capture_on_commit_callbacks):
    settings.SNAPSHOT_INTERVAL = 300
    account = make_account()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.snapshot_round.delay(at=int(AT.timestamp() * 1000))
    assert computed(account).get().bucket == BUCKET


def test_the_take_task_returns_what_it_did(eager):
    account = make_account()
    assert tasks.take_account_snapshot.delay(account.pk, AT.isoformat()).get() == "created"
    assert tasks.take_account_snapshot.delay(account.pk, AT.isoformat()).get() == "duplicate"


@pytest.mark.parametrize("error", [OperationalError("database is locked"), InterfaceError("connection closed")])
def test_a_transient_database_error_is_retried(eager, monkeypatch, error):
    account = make_account()
    calls = []
    real = tasks.take_snapshot

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) < 3:
            raise error
        return real(**kwargs)

    monkeypatch.setattr(tasks, "take_snapshot", flaky)
    assert tasks.take_account_snapshot.delay(account.pk, AT.isoformat()).get() == "created"
    assert len(calls) == 3


def test_other_errors_are_not_retried(eager, monkeypatch):
    calls = []

    def broken(**kwargs):
        calls.append(1)
        raise IntegrityError("a bug, not a hiccup")

    monkeypatch.setattr(tasks, "take_snapshot", broken)
    with pytest.raises(IntegrityError):
        tasks.take_account_snapshot.delay(1, AT.isoformat()).get()
    assert len(calls) == 1


def test_retries_are_bounded(eager, monkeypatch):
    calls = []

    def down(**kwargs):
        calls.append(1)
        raise OperationalError("server closed the connection")

    monkeypatch.setattr(tasks, "take_snapshot", down)
    monkeypatch.setattr(tasks.take_account_snapshot, "max_retries", 2)
    with pytest.raises(OperationalError):
        tasks.take_account_snapshot.delay(1, AT.isoformat()).get()
    assert len(calls) == 3


@pytest.mark.parametrize("name", ["snapshots.round", "snapshots.take", "snapshots.prune", "trades.roll_up_daily_pnl",
                                  "trades.roll_up_account"])
def test_task_hygiene(name):
    task = app.tasks[name]
    assert task.acks_late and task.reject_on_worker_lost  # all idempotent: redelivered if a worker dies
    assert set(task.autoretry_for) == {OperationalError, InterfaceError}
    assert 0 < task.max_retries <= 10 and task.retry_backoff
    assert 0 < task.soft_time_limit < task.time_limit


def test_the_django_fixup_closes_connections_around_tasks():
    # Celery's Django fixup connects close_old_connections-like hooks to task_prerun/postrun in workers.
    assert "celery.fixups.django:fixup" in app.fixups
    assert app.task_cls == "celery.contrib.django.task:DjangoTask"  # delay_on_commit / apply_async_on_commit


def test_beat_stamps_a_round_with_the_time_it_sends_it():
    body = ((), {}, {})
    before = datetime.now(UTC)
    stamp_round_time(sender="snapshots.round", body=body)
    assert before <= datetime.fromisoformat(body[1]["at"]) <= datetime.now(UTC)
    given = ((), {"at": "2026-01-01T00:00:00Z"}, {})
    stamp_round_time(sender="snapshots.round", body=given)
    assert given[1]["at"] == "2026-01-01T00:00:00Z"
    other = ((), {}, {})
    stamp_round_time(sender="snapshots.take", body=other)
    assert other[1] == {}


def test_the_beat_schedule_comes_from_settings(settings):
    settings.SNAPSHOT_INTERVAL = 30
    settings.NIGHTLY_HOUR, settings.NIGHTLY_MINUTE = 3, 45

    class Sender:
        class conf:
            beat_schedule = None

    build_beat_schedule(Sender)
    schedule = Sender.conf.beat_schedule
    assert schedule["snapshot-round"]["task"] == "snapshots.round"
    assert schedule["snapshot-round"]["schedule"].run_every == timedelta(seconds=30)
    assert schedule["snapshot-round"]["options"]["expires"] == 30
    for name, task in (("nightly-roll-up", "trades.roll_up_daily_pnl"), ("nightly-retention", "snapshots.prune")):
        assert schedule[name]["task"] == task
        assert (schedule[name]["schedule"].hour, schedule[name]["schedule"].minute) == ({3}, {45})


def test_the_round_schedule_ticks_on_interval_boundaries():
    clock = {"now": datetime(2026, 3, 1, 12, 0, 0, 500000, tzinfo=UTC)}
    every = on_the_interval(timedelta(seconds=60), nowfun=lambda: clock["now"])
    due, wait = every.is_due(datetime(2026, 3, 1, 11, 59, 37, tzinfo=UTC))  # last ran in the previous interval
    assert due and wait == pytest.approx(59.5)
    due, wait = every.is_due(datetime(2026, 3, 1, 12, 0, 0, 400000, tzinfo=UTC))  # already ran in this one
    assert not due and wait == pytest.approx(59.5)
    clock["now"] = datetime(2026, 3, 1, 12, 0, 59, tzinfo=UTC)
    assert every.is_due(datetime(2026, 3, 1, 12, 0, 0, 400000, tzinfo=UTC)) == (False, pytest.approx(1.0))


def test_the_nightly_retention_task_prunes(eager, settings):
    settings.SNAPSHOT_RETENTION_DAYS, settings.SNAPSHOT_HOURLY_DAYS = 1, 1
    account = make_account()
    old = datetime.now(UTC) - timedelta(days=30)
    day_start = old.replace(hour=0, minute=0, second=0, microsecond=0)
    for hour in (1, 2, 3):
        Mark.objects.create(account=account, symbol="BTCUSDT", price=1, ts=day_start + timedelta(hours=hour),
                            received_at=old)
    assert tasks.prune_old_snapshots.delay().get() == 2
    assert Mark.objects.count() == 1


def test_the_nightly_roll_up_writes_daily_pnl_per_account(eager, django_capture_on_commit_callbacks):
    account, other = make_account(), make_account()
    yesterday = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=1)
    make_fill(account, external_id="b", side="buy", price=Decimal("100"), quantity=Decimal("1"), executed_at=yesterday)
    make_fill(account, external_id="s", side="sell", price=Decimal("110"), quantity=Decimal("1"),
              executed_at=yesterday + timedelta(hours=1))
    books.recompute_symbols(account=account, symbols=["BTCUSDT"])

    with django_capture_on_commit_callbacks(execute=True):
        assert trade_tasks.roll_up_daily_pnl.delay().get() == 2
    with django_capture_on_commit_callbacks(execute=True):
        trade_tasks.roll_up_daily_pnl.delay().get()  # twice: same rows

    day = DailyPnl.objects.get(account=account, day=yesterday.date())
    assert day.realized_pnl == Decimal("10") and day.fills == 2
    assert DailyPnl.objects.filter(account=account, day=yesterday.date()).count() == 1
    assert not DailyPnl.objects.filter(account=other, day__gt=date(2000, 1, 1), fills__gt=0).exists()


def test_a_round_sent_without_a_time_carries_the_time_it_was_sent():
    """Through a real (in-memory) kombu transport: the stamp is in the message a worker receives."""
    from kombu import Connection

    before = datetime.now(UTC)
    with Connection("memory://") as conn:
        app.send_task("snapshots.round", queue="stamp-test", connection=conn)
        app.send_task("snapshots.round", kwargs={"at": "2026-01-01T00:00:00+00:00"}, queue="stamp-test",
                      connection=conn)
        queue = conn.SimpleQueue("stamp-test")
        stamped, given = (queue.get(timeout=2) for _ in range(2))
        queue.close()
    assert before <= datetime.fromisoformat(stamped.decode()[1]["at"]) <= datetime.now(UTC)
    assert given.decode()[1]["at"] == "2026-01-01T00:00:00+00:00"
