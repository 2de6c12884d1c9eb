"""Celery under faults (SPEC 6): two beats and two workers on Redis, a short SNAPSHOT_INTERVAL, workers
killed with SIGKILL and restarted — one at a time, then both together for a while.

Held: exactly one computed equity snapshot per account per interval — no duplicate
ever, and no interval missing while at least one worker was up for the whole of it.
Intervals with no worker up for part of them are reported, not held: their round
expires with its interval (tradebook.celery), by design.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from tests.faults.harness import VENV_BIN, Service, app_env, knob, manage, print_figures
from tests.faults.storms import make_fills

pytestmark = [pytest.mark.faults]

INTERVAL = knob("FAULTS_CELERY_INTERVAL", 2)  # SNAPSHOT_INTERVAL, seconds
SECONDS = knob("FAULTS_CELERY_SECONDS", 40.0)  # beats running, at least
KILLS = knob("FAULTS_CELERY_KILLS", 4)  # one worker at a time, the other up
DOWN = knob("FAULTS_CELERY_DOWN", 3.0)  # how long a killed worker stays down
ALL_DOWN = knob("FAULTS_CELERY_ALL_DOWN", 5.0)  # then both killed, down this long (0: never)
# A message taken by a killed worker goes back to the queue after this (CELERY_VISIBILITY_TIMEOUT);
# production keeps 7200 s, the test a few seconds so that the redelivery happens within the run.
VISIBILITY_TIMEOUT = knob("FAULTS_CELERY_VISIBILITY_TIMEOUT", 6)
ACCOUNTS = ["faults", "faults-b", "faults-c"]
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
CELERY = str(VENV_BIN / "celery")


def redis_client(db: int):
    import redis  # the broker client from the project's venv; imported late so collection needs none

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db, socket_connect_timeout=2)
    client.ping()
    return client


def forget_queue(client, queue: str) -> None:
    """Remove this run's queue, bindings and unacknowledged messages; other users of the database keep theirs."""
    for key in client.scan_iter(match=f"*{queue}*"):
        client.delete(key)
    for tag, raw in client.hgetall("unacked").items():
        try:
            routing_key = json.loads(raw)[2]
        except (ValueError, IndexError, TypeError):
            continue
        if routing_key == queue:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


class Worker(Service):
    def __init__(self, name: str, env: dict, log) -> None:
        command = [CELERY, "-A", "tradebook", "worker", "--loglevel=INFO",
                   "--concurrency=2", "-n", f"{name}@%h"]
        super().__init__(command, env, log, name=name)
        self.up: list[list[float]] = []  # [ready at, killed at] per life
        self.kills = 0

    def start_and_wait(self, timeout: float = 60) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        self.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.log_text()[offset:]:
                self.up.append([time.time(), math.inf])
                return
            if not self.alive():
                break
            time.sleep(0.1)
        raise RuntimeError(f"worker {self.name} not ready in {timeout} s:\n{self.log_text()[-3000:]}")

    def kill(self) -> None:
        self.up[-1][1] = time.time()  # down from the moment of the kill
        self.kill9(group_after=2.0)
        self.kills += 1


def covered(start: float, end: float, periods: list[list[float]]) -> bool:
    """Whether [start, end] lies within the union of the workers' up periods."""
    at = start
    for up, down in sorted(periods):
        if up <= at < down:
            at = down
            if at >= end:
                return True
    return at >= end


@pytest.mark.timeout(SECONDS + VISIBILITY_TIMEOUT + 240)
def test_one_computed_snapshot_per_account_per_interval(template, database, services, tmp_path):
    started = time.time()
    cluster = template.cluster
    db_number = knob("FAULTS_REDIS_DB", 2 + os.getpid() % 13)
    queue = f"faults_{os.getpid()}"
    try:
        broker = redis_client(db_number)
    except Exception as exc:
        pytest.fail(f"Redis at {REDIS_HOST}:{REDIS_PORT} does not answer ({exc}); the Celery test needs it",
                    pytrace=False)
    forget_queue(broker, queue)
    env = app_env(cluster.url(database), tmp_path / "data",
                  CELERY_BROKER_URL=f"redis://{REDIS_HOST}:{REDIS_PORT}/{db_number}",
                  CELERY_TASK_DEFAULT_QUEUE=queue, SNAPSHOT_INTERVAL=str(INTERVAL),
                  CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT), LOG_LEVEL="INFO")
    for slug in ACCOUNTS[1:]:
        manage(env, "create_account", "--slug", slug, "--name", slug, "--exchange", "paper", "--kind", "paper",
               "--base-currency", "USDT", "--initial-capital", "10000")
    # Open positions in the first account: its snapshots value them (and write position rows).
    events = tmp_path / "fills.jsonl"
    events.write_text("".join(json.dumps({"type": "fill", **f}) + "\n" for f in make_fills(200, "cel", seed=3)))
    manage(env, "import_events", str(events), "--account", ACCOUNTS[0])

    workers = [Worker(f"faults-{name}-{os.getpid()}", env, tmp_path / f"worker-{name}.log") for name in "ab"]
    beats = [Service([CELERY, "-A", "tradebook", "beat", "--loglevel=INFO",
                      "--schedule", str(tmp_path / f"beat-{n}.schedule"), "--pidfile", str(tmp_path / f"beat-{n}.pid")],
                     env, tmp_path / f"beat-{n}.log", name=f"beat-{n}") for n in (1, 2)]
    services.extend(workers + beats)
    try:
        for worker in workers:
            worker.start_and_wait()
        for beat in beats:
            beat.start()
        deadline = time.monotonic() + 60
        while not all("beat: Starting" in beat.log_text() for beat in beats):
            assert time.monotonic() < deadline, "beat did not start: " + beats[0].log_text()[-2000:]
            time.sleep(0.1)
        beats_up = time.time()
        t0 = beats_up
        rng = random.Random(13)
        events_log: list[str] = []

        def at_next_tick(after: float) -> None:
            """Sleep until just after the next interval boundary: beat has just sent its rounds, so the
            victim most likely holds a round or a snapshot task when it is killed."""
            tick = math.ceil(after / INTERVAL) * INTERVAL + rng.uniform(0.02, 0.3)
            time.sleep(max(0.0, tick - time.time()))

        for i in range(KILLS):
            at_next_tick(time.time() + 1.0)
            victim = workers[i % 2]
            victim.kill()
            events_log.append(f"{time.time() - t0:5.1f} s: {victim.name} killed")
            time.sleep(DOWN)
            victim.start_and_wait()
            events_log.append(f"{time.time() - t0:5.1f} s: {victim.name} ready again")
        if ALL_DOWN:
            at_next_tick(time.time() + 1.0)
            for worker in workers:
                worker.kill()
            events_log.append(f"{time.time() - t0:5.1f} s: both workers killed")
            time.sleep(ALL_DOWN)
            for worker in workers:
                worker.start_and_wait()
            events_log.append(f"{time.time() - t0:5.1f} s: both workers ready again")
        # A few quiet intervals at the end, whatever SECONDS says.
        time.sleep(max(0.0, t0 + SECONDS - time.time(), 4 * INTERVAL))
        for beat in beats:
            beat.stop()
        beats_down = time.time()
        # Redelivery of what a killed worker held: after the visibility timeout, restored within a second.
        time.sleep(VISIBILITY_TIMEOUT + 4)
        for worker in workers:
            worker.stop()
            if worker.up and worker.up[-1][1] == math.inf:
                worker.up[-1][1] = time.time()
    finally:
        forget_queue(broker, queue)

    rows = cluster.query(database, """
        SELECT a.slug, e.bucket, count(*) FROM snapshots_equitysnapshot e
        JOIN accounts_account a ON a.id = e.account_id WHERE e.source = 'computed' GROUP BY 1, 2""")
    position_duplicates = cluster.query(database, """
        SELECT count(*) FROM (SELECT 1 FROM snapshots_positionsnapshot WHERE source = 'computed'
        GROUP BY account_id, symbol, bucket HAVING count(*) > 1) d""")[0][0]
    position_rows = cluster.query(database, "SELECT count(*) FROM snapshots_positionsnapshot WHERE source = 'computed'")[0][0]
    taken = {(slug, bucket.timestamp()): n for slug, bucket, n in rows}
    duplicates = {f"{slug} {datetime.fromtimestamp(b, UTC):%H:%M:%S}": n for (slug, b), n in taken.items() if n > 1}
    misaligned = [k for k in taken if k[1] % INTERVAL]
    first = math.ceil((beats_up + INTERVAL) / INTERVAL) * INTERVAL  # beat's first tick, then one more
    buckets = [b for b in range(int(first), int(beats_down), int(INTERVAL)) if b + INTERVAL <= beats_down]
    periods = [p for worker in workers for p in worker.up]
    missing_covered, missing_uncovered, uncovered = [], [], 0
    for b in buckets:
        is_covered = covered(b, b + INTERVAL, periods)
        uncovered += not is_covered
        for slug in ACCOUNTS:
            if (slug, float(b)) not in taken:
                label = f"{slug} {datetime.fromtimestamp(b, UTC):%H:%M:%S} (+{b - t0:.0f} s)"
                (missing_covered if is_covered else missing_uncovered).append(label)
    worker_logs = "".join(w.log_text() for w in workers)
    outcomes = Counter(m.group(1) for m in re.finditer(r"snapshots\.take\[[^\]]+\] succeeded in [\d.]+s: '(\w+)'",
                                                       worker_logs))
    rounds = len(re.findall(r"snapshots\.round\[[^\]]+\] succeeded", worker_logs))
    print_figures("Celery: 2 beats, 2 workers killed and restarted", {
        "interval (s)": INTERVAL,
        "accounts": len(ACCOUNTS),
        "beats running (s)": f"{beats_down - beats_up:.1f}",
        "worker kills (kill -9)": sum(w.kills for w in workers),
        "worker restarts": sum(len(w.up) - 1 for w in workers),
        "events": events_log,
        "intervals counted": len(buckets),
        "intervals with a worker up throughout": len(buckets) - uncovered,
        "intervals with no worker up for part of them": uncovered,
        "computed equity snapshots": sum(taken.values()),
        "duplicates (account, bucket)": duplicates or 0,
        "buckets not on an interval boundary": len(misaligned),
        "missing while a worker was up": missing_covered,
        "missing while no worker was up (reported only)": missing_uncovered,
        "computed position snapshots / duplicates": f"{position_rows} / {position_duplicates}",
        "rounds run (worker logs)": rounds,
        "take outcomes (worker logs)": dict(outcomes),
        "task retries (worker logs)": worker_logs.count("Retry in"),
        "tasks discarded as expired (worker logs)": worker_logs.count("Discarding revoked task"),
        "tracebacks in worker logs": worker_logs.count("Traceback"),
        "redis database / queue": f"{db_number} / {queue}",
        "wall time (s)": f"{time.time() - started:.1f}",
    })
    failures = []
    if len(buckets) - uncovered < 5:
        failures.append(f"only {len(buckets) - uncovered} intervals with a worker up throughout: the run proves little")
    if duplicates:
        failures.append(f"duplicate computed snapshots: {duplicates}")
    if position_duplicates:
        failures.append(f"{position_duplicates} duplicate computed position snapshots")
    if misaligned:
        failures.append(f"{len(misaligned)} buckets not on an interval boundary")
    if missing_covered:
        failures.append(f"{len(missing_covered)} snapshots missing although a worker was up: {missing_covered[:10]}")
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)
