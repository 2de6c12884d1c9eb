"""Benchmark: one snapshot round of 1,000 accounts × 20 open positions on PostgreSQL.

    .venv/bin/python bench/snapshot_bench.py [--accounts 1000] [--positions 20] [--concurrency 2]

Creates (drops first) a dedicated database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/bench_snap), fills it fast with bulk_create
(accounts, PositionState rows, one mark per position), then times

1. the reference: the same round in-line, one process, no broker (snapshot_now's path);
2. a real `celery -A tradebook worker --concurrency 2` on Redis (the embedded
   filesystem broker if Redis does not answer): from sending `snapshots.round` to the
   last account's equity snapshot committed.

Target: < 10 s for (2), printed with its ratio to (1). Per account the round costs the
books' valuation (one query for the states with their marks), the write (the interval's
claim and the positions by column, one statement each) and Celery's per-task overhead; the
two workers share the two cores with PostgreSQL and Redis.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from databases import recreate_database  # noqa: E402 - bench/ beside each script

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_snap"
REDIS_URL = "redis://127.0.0.1:6379/14"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--positions", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()

    db_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    recreate_database(db_url)
    tmp = Path(tempfile.mkdtemp(prefix="snapshot-bench-"))
    broker_url = REDIS_URL if redis_answers() else "filesystem://"
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    env = {"DATABASE_URL": db_url, "SECRET_KEY": "bench", "CELERY_BROKER_URL": broker_url,
           "CELERY_TASK_DEFAULT_QUEUE": queue, "TRADEBOOK_DATA_DIR": str(tmp), "SNAPSHOT_INTERVAL": "60",
           "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "tradebook.settings",
           # Workers keep their database connection between tasks (the README's production advice).
           "CONN_MAX_AGE": os.environ.get("CONN_MAX_AGE", "60")}
    os.environ.update(env)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    t = time.perf_counter()
    generate(args.accounts, args.positions)
    print(f"data: {args.accounts} accounts × {args.positions} open positions + marks in "
          f"{time.perf_counter() - t:.1f} s ({db_url.rsplit('/', 1)[-1]})")

    from snapshots.take import active_account_ids, interval_start, take_snapshot

    now = datetime.now(UTC)
    inline_bucket = interval_start(now - timedelta(minutes=1))
    worker_bucket = interval_start(now)

    t = time.perf_counter()
    for account_id in active_account_ids():
        take_snapshot(account_id=account_id, at=inline_bucket)
    inline = time.perf_counter() - t
    assert computed_count(inline_bucket) == args.accounts

    log = tmp / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tradebook", "worker", "-Q", queue, "--concurrency",
         str(args.concurrency), "--pool", "prefork", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "--loglevel", "INFO", "-n", f"{queue}@bench"],
        cwd=ROOT, env={**os.environ, **env}, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    try:
        wait_ready(worker, log)
        from django.db import connection

        connection.close()
        t = time.perf_counter()
        send_round(broker_url, queue, worker_bucket)
        while computed_count(worker_bucket) < args.accounts:
            if worker.poll() is not None:
                raise SystemExit(f"worker died:\n{log.read_text()[-3000:]}")
            if time.perf_counter() - t > 300:
                raise SystemExit(f"round not done after 300 s: {computed_count(worker_bucket)} snapshots")
            time.sleep(0.05)
        round_time = time.perf_counter() - t
    finally:
        worker.terminate()
        worker.wait(30)

    positions = count_positions(worker_bucket)
    broker = "Redis" if broker_url.startswith("redis") else "filesystem broker"
    print(f"in-line round, 1 process:            {inline:6.2f} s  ({args.accounts / inline:7.1f} accounts/s)")
    print(f"worker round, {args.concurrency} processes ({broker}): {round_time:6.2f} s  "
          f"({args.accounts / round_time:7.1f} accounts/s; {positions} position rows)  "
          f"target < 10 s: {'OK' if round_time < 10 else 'MISSED'}")
    # The machine may be shared: say how busy it was (load average over the last minute, per core).
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def redis_answers() -> bool:
    try:
        import redis

        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:
        return False


def generate(accounts: int, positions: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Account
    from snapshots.models import Mark
    from trades.models import PositionState

    now = timezone.now()
    with transaction.atomic():
        rows = Account.objects.bulk_create(
            Account(slug=f"bench-{i:05d}", name=f"Bench {i}", exchange="bybit", kind="paper",
                    base_currency="USDT", initial_capital=Decimal("10000")) for i in range(accounts)
        )
        states, marks = [], []
        for account in rows:
            for j in range(positions):
                symbol = f"SYM{j:02d}USDT"
                side = 1 if (account.pk + j) % 3 else -1
                price = Decimal(100 + j) + Decimal(account.pk % 7) / 10
                states.append(PositionState(
                    account=account, symbol=symbol, quantity=Decimal(side) * Decimal("1.5"), average_price=price,
                    realized_pnl=Decimal("12.5"), fees=Decimal("0.75"), fill_count=4, last_executed_at=now,
                    last_price=price,
                ))
                marks.append(Mark(account=account, symbol=symbol, price=price + Decimal("1.25"), ts=now,
                                  received_at=now))
        PositionState.objects.bulk_create(states, batch_size=5000)
        Mark.objects.bulk_create(marks, batch_size=5000)


def computed_count(bucket) -> int:
    from snapshots.models import EquitySnapshot

    return EquitySnapshot.objects.filter(source="computed", bucket=bucket).count()


def count_positions(bucket) -> int:
    from snapshots.models import PositionSnapshot

    return PositionSnapshot.objects.filter(source="computed", bucket=bucket).count()


def wait_ready(worker: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while "ready." not in log.read_text(errors="replace"):
        if worker.poll() is not None:
            raise SystemExit(f"worker died:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise SystemExit("worker not ready after 60 s")
        time.sleep(0.1)


def send_round(broker_url: str, queue: str, bucket) -> None:
    from kombu import Connection

    from tradebook.celery import app

    with Connection(broker_url, transport_options=app.conf.broker_transport_options or {}) as conn:
        app.send_task("snapshots.round", kwargs={"at": bucket.isoformat()}, queue=queue, connection=conn)


if __name__ == "__main__":
    main()
