"""Client throughput: fills/s through tradebook_client, with and without a spool, beside the
same batches posted directly on one kept-alive HTTP connection, against a real gunicorn on
PostgreSQL, in the same run.

    .venv/bin/python bench/client_bench.py [--fills 50000] [--rounds 5] [--batch 500] [--threads 4]

It (re)creates the database `bench_client` (BENCH_DATABASE_NAME to change it), migrates it,
makes an account and a token, and starts gunicorn (2 workers, as in production) on a free
loopback port. Every mode posts `--fills` new fills in all (ids of its own, each symbol's
times moving forward as a live bot's do), in `--rounds` rounds:

  direct        the reference: the items as JSON lists of `--batch`, POST /api/v1/events/ one
                after the other on one http.client connection (reopened when gunicorn closes it)
  memory        Client without a spool: fill() per item from one thread, then close()
  spool/many    Client with a spool: fills(list) per `--batch` items — one commit per call
  spool/threads Client with a spool: fill() per item from `--threads` threads (one symbol each) —
                calls that arrive while a commit is being written share the next one (group commit)
  spool/call    Client with a spool: fill() per item from one thread. Each call returns only once
                its item is on disk: one SQLite commit (an fsync) per call, whatever the server.
                It posts a fifth of the others' fills: its rate is the disk's, not tradebook's

A mode's time runs from its first call until close() returned (every fill acknowledged by
tradebook). In each round every mode runs once, in a rotated order, and its ratio is to
`direct` in the same round: the machine's drift and the database's growth favour no mode.
The table gives each mode's fills/s over all rounds, the median of its ratios beside the
target (a spooled client at 0.8x of direct or better), the CPU this process spent per fill
(the client's share of a machine it shares with tradebook), and the disk's commit latency
that bounds spool/call and spool/threads.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "client" / "src"))
sys.path.insert(0, str(ROOT / "client" / "tests"))

from tradebook_client import Client  # noqa: E402
from tradebook_server import Tradebook  # noqa: E402

TARGET_SPOOL = 0.8
MODES = ["direct", "memory", "spool/many", "spool/threads", "spool/call"]
T0 = datetime.now(UTC) - timedelta(hours=6)


# Each symbol's fills arrive in time order in every mode (an older fill than the newest booked makes
# tradebook recompute the symbol: another path). spool/threads gives each thread one symbol.
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")


class Fills:
    """New fills for each run: ids never posted before, execution times only moving forward."""

    def __init__(self) -> None:
        self.n = 0

    def make(self, count: int, tag: str) -> list[dict[str, str]]:
        out = []
        for _ in range(count):
            i = self.n
            self.n += 1
            out.append({"id": f"{tag}-{i}", "symbol": SYMBOLS[i % len(SYMBOLS)], "side": "buy" if i % 3 else "sell",
                        "price": f"{42000 + i % 500}.{i % 100:02d}", "quantity": "0.001", "fee": "0.0042",
                        "fee_currency": "USDT", "executed_at": (T0 + timedelta(microseconds=100 * i)).isoformat()})
        return out


def run_direct(server: Tradebook, token: str, items: list[dict[str, str]], batch: int) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    started = time.perf_counter()
    for start in range(0, len(items), batch):
        body = json.dumps([{"type": "fill", **item} for item in items[start:start + batch]]).encode()
        connection.request("POST", "/api/v1/events/", body=body, headers=headers)
        answer = connection.getresponse()
        data = answer.read()
        if answer.status != 201:
            raise RuntimeError(f"direct post answered {answer.status}: {data[:300]!r}")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def run_client(server: Tradebook, token: str, items: list[dict[str, str]], batch: int, mode: str,
               threads: int, spool_dir: str) -> float:
    spool = os.path.join(spool_dir, f"{mode.replace('/', '-')}-{time.monotonic_ns()}.sqlite") \
        if mode.startswith("spool") else None
    client = Client(server.url, token, spool=spool, batch_size=batch)
    started = time.perf_counter()
    if mode in ("memory", "spool/call"):
        for item in items:
            client.fill(**item)
    elif mode == "spool/many":
        for start in range(0, len(items), batch):
            client.fills(items[start:start + batch])
    elif mode == "spool/threads":
        def post(part: list[dict[str, str]]) -> None:
            for item in part:
                client.fill(**item)

        # Thread k posts the fills of SYMBOLS[k]: each symbol's stay in time order.
        workers = [threading.Thread(target=post, args=(items[k::threads],)) for k in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    else:
        raise ValueError(mode)
    result = client.close()
    elapsed = time.perf_counter() - started
    if client.rejected() or result.pending:
        raise RuntimeError(f"{mode}: {len(client.rejected())} rejected, {result.pending} pending")
    return elapsed


def process_cpu() -> float:
    """CPU seconds of this process (every thread): what the client costs beside tradebook."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def fsync_latency(directory: str, commits: int = 300) -> float:
    """Median seconds of one small SQLite commit (WAL, synchronous=FULL) in `directory`."""
    path = os.path.join(directory, f"fsync-{time.monotonic_ns()}.sqlite")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (x TEXT)")
    times = []
    for _ in range(commits):
        started = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t VALUES ('x')")
        db.execute("COMMIT")
        times.append(time.perf_counter() - started)
    db.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fills", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=len(SYMBOLS), choices=[1, 2, len(SYMBOLS)])
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated, of " + ", ".join(MODES))
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if "direct" not in modes:
        modes.insert(0, "direct")

    server = Tradebook(os.environ.get("BENCH_DATABASE_NAME", "bench_client"), throttle="1000000/s")
    spool_dir = tempfile.mkdtemp(prefix="client-bench-")
    try:
        server.create()
        server.account("bench")
        token = server.token("bench", name="bench-client")
        server.start()
        fills = Fills()
        warm = fills.make(2000, "warm")  # first requests pay for imports and connections: not measured
        run_direct(server, token, warm, args.batch)
        fsync = fsync_latency(spool_dir)

        per_round = max(args.batch, args.fills // args.rounds)
        seconds: dict[str, float] = {m: 0.0 for m in modes}
        posted: dict[str, int] = {m: 0 for m in modes}
        cpu: dict[str, float] = {m: 0.0 for m in modes}  # this process's CPU seconds: the client's cost
        ratios: dict[str, list[float]] = {m: [] for m in modes}
        for round_no in range(args.rounds):
            order = modes[round_no % len(modes):] + modes[:round_no % len(modes)]
            rate: dict[str, float] = {}
            for mode in order:
                count = per_round // 5 if mode == "spool/call" else per_round
                items = fills.make(count, f"r{round_no}-{mode}")
                cpu_before = process_cpu()
                if mode == "direct":
                    took = run_direct(server, token, items, args.batch)
                else:
                    took = run_client(server, token, items, args.batch, mode, args.threads, spool_dir)
                cpu[mode] += process_cpu() - cpu_before
                seconds[mode] += took
                posted[mode] += count
                rate[mode] = count / took
                print(f"  round {round_no + 1} {mode:<14} {rate[mode]:>9,.0f} fills/s  ({count:,} in {took:.2f} s)",
                      flush=True)
            for mode in modes:
                ratios[mode].append(rate[mode] / rate["direct"])
        fsync_after = fsync_latency(spool_dir)

        print()
        print(f"tradebook client throughput: {per_round:,} fills per mode and round ({per_round // 5:,} for "
              f"spool/call), batches of {args.batch}, {args.rounds} rounds; gunicorn 2 workers on PostgreSQL")
        print(f"  one SQLite commit with fsync (WAL, synchronous=FULL) on this disk, tradebook idle: "
              f"{fsync * 1e3:.2f} ms before, {fsync_after * 1e3:.2f} ms after the run -> at most "
              f"~{1 / max(fsync, fsync_after):,.0f} single-item spooled calls/s from one thread (fewer while "
              "PostgreSQL flushes its own log to the same disk)")
        print(f"  {'mode':<14} {'fills/s':>9}  {'x direct':>8}  {'CPU µs/fill':>11}  target")
        for mode in modes:
            ratio = statistics.median(ratios[mode])
            if mode == "direct":
                target = "(reference)"
            elif mode.startswith("spool"):
                target = f">= {TARGET_SPOOL}x  {'met' if ratio >= TARGET_SPOOL else 'MISSED'}"
                if mode == "spool/call":
                    target += "  (bounded by the disk's fsync, above)"
                elif mode == "spool/threads":
                    target += f"  (at most {args.threads} calls share an fsync)"
            else:
                target = "-"
            print(f"  {mode:<14} {posted[mode] / seconds[mode]:>9,.0f}  {ratio:>7.2f}x  "
                  f"{cpu[mode] / posted[mode] * 1e6:>11.1f}  {target}")
    finally:
        server.stop(signal.SIGTERM)
        server.destroy()


if __name__ == "__main__":
    main()
