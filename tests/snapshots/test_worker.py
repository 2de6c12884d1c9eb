"""Integration: the tasks on a REAL `celery -A tradebook worker` process, a real broker, the test database.

The broker is Redis (redis://127.0.0.1:6379/15, a queue of our own per test) or, when
Redis does not answer (or TRADEBOOK_TEST_BROKER=filesystem), the embedded filesystem
broker in a temporary folder — said on stderr, and the one test that needs a broker
able to redeliver is skipped with its reason. The
worker is given the test database's URL (on SQLite the test database is a file —
see DATABASES TEST NAME in settings — so another process can open it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from kombu import Connection

from snapshots.models import EquitySnapshot, Mark, PositionSnapshot
from snapshots.take import interval_start
from tests.factories import make_account, make_fill
from trades import books

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
REDIS_URL = "redis://127.0.0.1:6379/15"
# A recent interval: the round gives its tasks an expiry (a snapshot far behind its interval is not taken).
BUCKET = interval_start(datetime.now(UTC) - timedelta(minutes=2), interval=60)


def redis_answers() -> bool:
    if os.environ.get("TRADEBOOK_TEST_BROKER") == "filesystem":  # to exercise the fallback on purpose
        return False
    try:
        with Connection(REDIS_URL, connect_timeout=1, transport_options={"max_retries": 0}) as conn:
            conn.ensure_connection(max_retries=1, timeout=1)
            conn.default_channel.client.ping()
        return True
    except Exception:
        return False


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """One `celery worker` subprocess; its log is a file we read to know what it did."""

    def __init__(self, broker: Broker, tmp: Path, *, pool: str = "prefork", concurrency: int = 2,
                 interval: int = 60, beat: bool = False, env: dict | None = None):
        self.broker, self.log = broker, tmp / f"{'beat' if beat else 'worker'}-{uuid.uuid4().hex[:6]}.log"
        env = {**os.environ, **broker.env, "DATABASE_URL": database_url(), "SECRET_KEY": "worker-test",
               "TRADEBOOK_DATA_DIR": str(tmp), "SNAPSHOT_INTERVAL": str(interval), "LOG_LEVEL": "INFO",
               **(env or {})}
        if beat:
            command = ["beat", "--schedule", str(tmp / f"beat-{uuid.uuid4().hex[:6]}"), "--loglevel", "INFO"]
        else:
            command = ["worker", "-Q", broker.queue, "--pool", pool, "--concurrency", str(concurrency),
                       "-n", f"{uuid.uuid4().hex[:8]}@test", "--without-gossip", "--without-mingle",
                       "--without-heartbeat", "--loglevel", "INFO"]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tradebook", *command],
            cwd=ROOT, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill -9 reaches the pool children too
        )
        self.wait_for("beat: Starting..." if beat else "ready.", timeout=30)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, needle: str, *, count: int = 1, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while self.text().count(needle) < count:
            if self.process.poll() is not None:
                raise AssertionError(f"the worker exited ({self.process.returncode}):\n{self.text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {count}× {needle!r} in {timeout}s; worker log:\n{self.text()[-3000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        """kill -9 the worker and its pool: no warm shutdown, no chance to ack or requeue anything."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


class Broker:
    def __init__(self, tmp: Path):
        self.queue = f"tradebook-test-{uuid.uuid4().hex[:10]}"
        self.redis = redis_answers()
        if self.redis:
            self.url = REDIS_URL
            # A message taken by a killed worker comes back after 2 s instead of an hour.
            self.env = {"CELERY_BROKER_URL": self.url, "CELERY_VISIBILITY_TIMEOUT": "2",
                        "CELERY_TASK_DEFAULT_QUEUE": self.queue}
            self.options = {}
        else:
            print("Redis does not answer on 127.0.0.1:6379: using the filesystem broker", file=sys.stderr)
            folder = tmp / "broker"
            self.url = "filesystem://"
            self.env = {"CELERY_BROKER_URL": self.url, "CELERY_TASK_DEFAULT_QUEUE": self.queue}
            self.options = {"data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
                            "processed_folder": str(folder / "processed")}
            for sub in ("queue", "processed"):
                (folder / sub).mkdir(parents=True, exist_ok=True)

    def send(self, task_name: str, *args, **kwargs) -> None:
        from tradebook.celery import app

        with Connection(self.url, transport_options=self.options) as conn:
            app.send_task(task_name, args=args, kwargs=kwargs, queue=self.queue, connection=conn)

    def purge(self) -> None:
        if self.redis:
            with Connection(self.url) as conn:
                conn.default_channel.client.delete(self.queue)


@pytest.fixture
def broker(tmp_path):
    broker = Broker(tmp_path)
    yield broker
    broker.purge()


@pytest.fixture
def workers(broker, tmp_path, transactional_db):
    """Start workers with workers(...); all are stopped before the test database is flushed."""
    started = []

    def start(**kwargs) -> Worker:
        started.append(Worker(broker, tmp_path, **kwargs))
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


def wait_until(predicate, *, timeout: float = 20, what: str = "condition", worker: Worker | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            log = f"; worker log:\n{worker.text()[-3000:]}" if worker else ""
            raise AssertionError(f"timed out waiting for {what}{log}")
        time.sleep(0.1)


def trading_account(**fields):
    account = make_account(**fields)
    make_fill(account, symbol="BTCUSDT", side="buy", price=Decimal("100"), quantity=Decimal("2"))
    make_fill(account, symbol="ETHUSDT", side="sell", price=Decimal("10"), quantity=Decimal("5"))
    books.recompute_symbols(account=account, symbols=["BTCUSDT", "ETHUSDT"])
    Mark.objects.create(account=account, symbol="BTCUSDT", price=Decimal("110"), ts=BUCKET, received_at=BUCKET)
    return account


def computed_per_account(bucket=BUCKET) -> dict[int, int]:
    rows = EquitySnapshot.objects.filter(source="computed", bucket=bucket).values_list("account_id", flat=True)
    counts: dict[int, int] = {}
    for account_id in rows:
        counts[account_id] = counts.get(account_id, 0) + 1
    return counts


def test_rounds_on_a_real_worker_write_one_snapshot_per_active_account(broker, workers):
    alpha, bravo = trading_account(), trading_account()
    idle = make_account()
    inactive = trading_account(is_active=False)
    worker = workers(pool="prefork", concurrency=2)

    broker.send("snapshots.round", at=(BUCKET + timedelta(seconds=1)).isoformat())
    wait_until(lambda: len(computed_per_account()) == 3, what="three snapshots", worker=worker)
    # The same interval again, then two beats at once (two processes race), then the next interval.
    broker.send("snapshots.round", at=(BUCKET + timedelta(seconds=30)).isoformat())
    broker.send("snapshots.round", at=(BUCKET + timedelta(seconds=59)).isoformat())
    broker.send("snapshots.round", at=(BUCKET + timedelta(seconds=59)).isoformat())
    broker.send("snapshots.round", at=(BUCKET + timedelta(seconds=60)).isoformat())
    worker.wait_for("Task snapshots.take[", count=3 * 5 * 2, timeout=30)  # received + succeeded lines
    worker.wait_for("succeeded", count=5 + 3 * 5, timeout=30)
    # A round from long ago: its tasks have expired and are discarded, not stamped with today's books.
    broker.send("snapshots.round", at=(BUCKET - timedelta(hours=1)).isoformat())
    worker.wait_for("Discarding revoked task: snapshots.take[", count=3, timeout=30)

    assert computed_per_account() == {alpha.pk: 1, bravo.pk: 1, idle.pk: 1}
    assert computed_per_account(BUCKET + timedelta(minutes=1)) == {alpha.pk: 1, bravo.pk: 1, idle.pk: 1}
    assert computed_per_account(BUCKET - timedelta(hours=1)) == {}
    assert inactive.pk not in computed_per_account()
    assert PositionSnapshot.objects.filter(source="computed", account=alpha, bucket=BUCKET).count() == 2
    btc = PositionSnapshot.objects.get(source="computed", account=bravo, bucket=BUCKET, symbol="BTCUSDT")
    assert (btc.side, btc.size, btc.mark_price, btc.unrealized_pnl) == ("long", 2, 110, 20)
    assert "Traceback" not in worker.text()

    if connection.vendor == "postgresql":
        # Celery's Django fixup closes the worker's connections after each task: none is left idle.
        def worker_sessions():
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                               "AND pid <> pg_backend_pid()")
                return cursor.fetchone()[0]

        wait_until(lambda: worker_sessions() == 0, timeout=10, what="the worker to close its connections")


def test_a_task_redelivered_after_its_worker_was_killed_mid_task_writes_once(broker, workers):
    if not broker.redis:
        pytest.skip("the filesystem broker deletes a message when a worker takes it: it cannot redeliver; "
                    "this needs Redis on 127.0.0.1:6379")
    account = trading_account()
    # prefork: the main process acknowledges while a child runs the task (with the solo pool an early
    # ack can sit unsent behind the blocked task, which would hide a missing acks_late).
    first = workers(pool="prefork", concurrency=1)

    # Hold the interval's row lock so the task blocks mid-way (after its valuation, on its insert).
    with transaction.atomic():
        blocker = EquitySnapshot.objects.create(account=account, source="computed", bucket=BUCKET,
                                                exchange_ts=BUCKET, equity=Decimal("0"), received_at=BUCKET)
        broker.send("snapshots.take", account.pk, (BUCKET + timedelta(seconds=5)).isoformat())
        first.wait_for("Task snapshots.take[")
        if connection.vendor == "postgresql":
            def waiting_on_lock():
                with connection.cursor() as cursor:
                    # pg_stat_activity is read once per transaction and kept (we are inside one):
                    # without this, a worker that connects after the first look is never seen.
                    cursor.execute("SELECT pg_stat_clear_snapshot()")
                    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                   "AND wait_event_type = 'Lock'")
                    return cursor.fetchone()[0] > 0

            wait_until(waiting_on_lock, timeout=20, what="the worker to block on the interval's key", worker=first)
        else:
            time.sleep(1.5)  # SQLite: the worker waits on the write lock (busy timeout 30 s)
        assert "succeeded" not in first.text()
        first.kill()
        transaction.set_rollback(True)  # the blocker was never there
    assert not EquitySnapshot.objects.filter(pk=blocker.pk).exists()
    assert computed_per_account() == {}

    second = workers(pool="solo", concurrency=1)
    wait_until(lambda: computed_per_account() == {account.pk: 1}, timeout=30, what="the redelivered snapshot")
    second.wait_for("succeeded")
    # And the message is gone: a redelivery of a finished task would write nothing anyway.
    broker.send("snapshots.take", account.pk, BUCKET.isoformat())
    second.wait_for("succeeded", count=2)
    assert computed_per_account() == {account.pk: 1}
    assert PositionSnapshot.objects.filter(source="computed", account=account, bucket=BUCKET).count() == 2


def test_retention_on_a_real_worker_keeps_what_it_must(broker, workers):
    account = make_account()
    now = datetime.now(UTC)
    recent = [Mark.objects.create(account=account, symbol="BTCUSDT", price=1, ts=now - timedelta(minutes=m),
                                  received_at=now) for m in (1, 2, 3)]
    old_hour = (now - timedelta(days=settings.SNAPSHOT_RETENTION_DAYS + 2)).replace(minute=0, second=0,
                                                                                    microsecond=0)
    old = [EquitySnapshot.objects.create(account=account, equity=1, exchange_ts=old_hour + timedelta(minutes=m),
                                         received_at=now) for m in (5, 15, 25)]
    stale = [Mark.objects.create(account=account, symbol="XRPUSDT", price=1, ts=old_hour + timedelta(minutes=m),
                                 received_at=now) for m in (5, 15)]
    worker = workers(pool="solo", concurrency=1)

    broker.send("snapshots.prune")
    worker.wait_for("succeeded")
    broker.send("snapshots.prune")
    worker.wait_for("succeeded", count=2)

    assert set(Mark.objects.values_list("pk", flat=True)) == {m.pk for m in recent} | {stale[-1].pk}
    assert list(EquitySnapshot.objects.values_list("pk", flat=True)) == [old[-1].pk]
    assert "Traceback" not in worker.text()


def test_two_beats_running_at_once_still_write_one_snapshot_per_account_per_interval(broker, workers):
    """Real `celery beat` × 2 (a deployment mistake) with a 2-second interval, and a worker."""
    alpha, bravo = trading_account(), make_account()
    worker = workers(pool="prefork", concurrency=2, interval=2)
    beats = [workers(beat=True, interval=2) for _ in range(2)]
    for beat in beats:
        beat.wait_for("Sending due task snapshot-round", count=3, timeout=20)
    for beat in beats:
        beat.stop()
    rounds = sum(beat.text().count("Sending due task snapshot-round") for beat in beats)
    worker.wait_for("Task snapshots.round[", count=rounds, timeout=20)  # every round received…

    def settled() -> bool:  # …and every task received has finished (or expired: a 2 s round can, under load)
        text = worker.text()
        return text.count("] received") == text.count("] succeeded in") + text.count("Discarding revoked task")

    wait_until(settled, timeout=20, what="the worker to finish", worker=worker)

    rows = list(EquitySnapshot.objects.filter(source="computed").values_list("account_id", "bucket"))
    buckets = {bucket for _, bucket in rows}
    assert len(rows) == len(set(rows)) == 2 * len(buckets)  # every interval: one per account, no more
    assert {account_id for account_id, _ in rows} == {alpha.pk, bravo.pk}
    assert all(b.timestamp() % 2 == 0 for b in buckets)  # on the interval's boundaries
    rounds_run = [line.split("snapshot round ")[1].split(": ")[0] for line in worker.text().splitlines()
                  if "snapshot round " in line]
    assert len(buckets) >= 2 and len(rounds_run) > len(set(rounds_run))  # both beats ticked in one interval
    assert "raised unexpected" not in worker.text()


def test_with_conn_max_age_a_worker_keeps_its_database_connection_between_tasks(broker, workers):
    if connection.vendor != "postgresql":
        pytest.skip("counts server sessions (pg_stat_database.sessions): PostgreSQL only")

    def sessions() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_force_next_flush()")
            cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
            return cursor.fetchone()[0]

    accounts = [make_account() for _ in range(12)]
    worker = workers(pool="solo", concurrency=1, env={"CONN_MAX_AGE": "60"})
    before = sessions()
    for account in accounts:
        broker.send("snapshots.take", account.pk, BUCKET.isoformat())
    worker.wait_for("succeeded", count=len(accounts))
    worker.stop()  # its session ends: now counted
    assert computed_per_account() == {a.pk: 1 for a in accounts}
    # One session for twelve tasks (plus ours for the counting), not one per task.
    wait_until(lambda: sessions() - before >= 1, timeout=5, what="the worker's session to be counted")
    assert sessions() - before <= 3
