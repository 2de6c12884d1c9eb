"""Write-path benchmark: fills over HTTP against gunicorn on PostgreSQL, beside raw COPY.

    .venv/bin/python bench/write_bench.py [--batches 20] [--clients 4] [--seconds 10] [--profile]
                                          [--only batch|single] [--workers 2 --threads 4 --worker-class gthread]

(BENCH_GUNICORN_ARGS adds gunicorn options, e.g. "--reuse-port".)

It (re)creates the database `bench_write` (BENCH_DATABASE_URL to change it),
migrates it, makes an account and a token, starts gunicorn on a free loopback port
and measures:

  (a) batch ingest: fills/s for batches of 1,000 through POST /api/v1/fills/ (JSON)
      and POST /api/v1/events/ (NDJSON) — journal and position state included;
  (b) single fills: requests/s and p50/p99 latency from several concurrent clients
      (threads, http.client keep-alive), bounded by count and time;
  (c) the raw PostgreSQL COPY rate of the same rows: into the fills table itself (its keys,
      indexes and constraints: what storing these rows costs the database at the least),
      into a table with only its keys (primary and unique: what a ledger that
      refuses a fill twice needs at the least), and into a plain table without any (the bare
      write rate),

and prints (a) as ratios to the three COPY rates. (a) and (c) are measured in waves: a COPY of
10,000 rows and one batch of 1,000 fills per client, a moment apart, in turns first; a
ratio is the median of the waves' own, so neither a drift of the shared machine's speed
during the run nor the order favours either side. `--profile` also profiles one 1,000-fill
batch in-process (cProfile) and prints what dominates.
"""

import argparse
import cProfile
import http.client
import io
import itertools
import json
import os
import pstats
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from databases import recreate_database  # noqa: E402 - bench/ beside each script

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_write")
EXTRA_GUNICORN = os.environ.get("BENCH_GUNICORN_ARGS", "").split()  # e.g. "--reuse-port"
BOT = "paper:BTCUSD-ETHUSD"  # the bot every posted fill names; COPY's rows name one too (a row of its own)
# Execution times start an hour ago and only move forward, as a live bot's do: an older fill
# would make the books recompute its symbol, and a fill of a day already rolled up would make
# them drop that day's roll-up — other, rarer paths, which the read benchmark covers.
T0 = datetime.now(UTC) - timedelta(hours=1)
_clock = itertools.count()
_clock_lock = threading.Lock()


def next_time() -> str:
    with _clock_lock:
        return (T0 + timedelta(milliseconds=next(_clock))).isoformat()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


def fills(prefix: str, count: int, *, typed: bool = False, symbol: str | None = None,
          symbols: tuple[str, ...] = SYMBOLS) -> list[dict]:
    out = []
    for n in range(count):
        item = {"id": f"{prefix}-{n}", "symbol": symbol or symbols[n % len(symbols)],
                "side": "buy" if n % 2 else "sell", "price": f"{100 + n % 50}.{n % 97:02d}",
                "quantity": f"0.{n % 89 + 1:03d}", "fee": "0.0123", "fee_currency": "USDT",
                "executed_at": next_time(), "order_id": f"o-{prefix}-{n // 3}",
                "bot": BOT}
        if typed:
            item = {"type": "fill", **item}
        out.append(item)
    return out


def setup_database() -> str:
    """Fresh bench database, migrated; returns a token secret for a one-account token."""
    recreate_database(DB_URL)
    env = {**os.environ, "DATABASE_URL": DB_URL, "SECRET_KEY": "bench"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    os.environ.update(DATABASE_URL=DB_URL, SECRET_KEY="bench", DJANGO_SETTINGS_MODULE="tradebook.settings")
    import django

    django.setup()
    from accounts.models import Account, Bot
    from accounts.tokens import issue_token

    Account.objects.create(slug="bench", name="Bench", exchange="bybit", kind="paper", base_currency="USDT",
                           initial_capital=10000)
    reference = Account.objects.create(slug="copy-reference", name="COPY reference rows", exchange="bybit",
                                       kind="paper", base_currency="USDT")
    Bot.objects.create(account=reference, key=BOT)
    _token, secret = issue_token(name="bench", account_slugs=["bench"])
    return secret


@contextmanager
def serving(args) -> Iterator[tuple[int, subprocess.Popen, "Copier"]]:
    """The COPY references' connection and gunicorn on a free port, for the block; both closed after."""
    copier = Copier()
    port = free_port()
    server = start_gunicorn(port, args.workers, args.threads, args.worker_class)
    try:
        yield port, server, copier
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        copier.close()


def start_gunicorn(port: int, workers: int, threads: int, worker_class: str = "gthread") -> subprocess.Popen:
    ready = tempfile.mkdtemp(prefix="bench-gunicorn-")
    env = {**os.environ, "DATABASE_URL": DB_URL, "SECRET_KEY": "bench", "CONN_MAX_AGE": "600",
           "DJANGO_SETTINGS_MODULE": "tradebook.settings",
           # The bench measures the write path, not the throttle (default 100/s per token).
           "API_THROTTLE_RATE": "1000000/s", "LOG_LEVEL": "WARNING", "ALLOWED_HOSTS": "127.0.0.1",
           "BENCH_READY_DIR": ready}
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "tradebook.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers),
         "-k", worker_class, "--threads", str(threads), "--keep-alive", "30", "--log-level", "warning",
         "-c", str(ROOT / "bench/gunicorn_ready.py"), *EXTRA_GUNICORN],
        cwd=ROOT, env=env, start_new_session=True,
    )
    for _ in range(300):
        if len(os.listdir(ready)) >= workers:
            shutil.rmtree(ready)
            return process
        if process.poll() is not None:
            break
        time.sleep(0.1)
    shutil.rmtree(ready, ignore_errors=True)
    raise SystemExit("gunicorn did not start (or not all its workers)")


def post(conn: http.client.HTTPConnection, path: str, body: bytes, secret: str, content_type: str) -> tuple:
    conn.request("POST", path, body=body, headers={"Authorization": f"Bearer {secret}",
                                                    "Content-Type": content_type})
    response = conn.getresponse()
    data = response.read()
    return response.status, data


def run_together(threads: list[threading.Thread]) -> float:
    """Start the clients at once, wait for all; the seconds they took."""
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def batch_waves(port: int, secret: str, copier: "Copier", batches: int, *, ndjson: bool,
                clients: int = 1) -> list[dict[str, float]]:
    """`batches` waves: in each, a COPY (into the fills table, a keyed and a plain table)
    and one batch of 1,000 fills per client, posted at once — COPY first in odd waves, the
    batch first in even ones. Each wave's figures
    ({"ledger", "keyed", "plain", "fills"}, per second) are measured a moment apart, so a drift of
    the shared machine's speed touches both sides of its ratios alike. Each client is a bot
    with its own symbols, posting in time order (clients sharing a symbol would serialize on
    its position)."""
    path, ctype = ("/api/v1/events/", "application/x-ndjson") if ndjson else ("/api/v1/fills/", "application/json")
    bodies: list[list[bytes]] = []
    for c in range(clients):
        mine = []
        symbols = tuple(s.replace("USDT", f"{c}USDT") for s in SYMBOLS) if clients > 1 else SYMBOLS
        for b in range(batches + 1):
            items = fills(f"{'n' if ndjson else 'j'}{clients}-{c}-{b}", 1000, typed=ndjson, symbols=symbols)
            if ndjson:
                mine.append("\n".join(json.dumps(i) for i in items).encode())
            else:
                mine.append(json.dumps(items).encode())
        bodies.append(mine)
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=120) for _ in range(clients)]
    for conn, mine in zip(connections, bodies, strict=True):
        status, data = post(conn, path, mine[0], secret, ctype)  # warm-up (imports, connections)
        assert status == 201, (status, data[:500])
    failures: list = []

    def run(conn, body) -> None:
        status, data = post(conn, path, body, secret, ctype)
        if status != 201:
            failures.append((status, data[:500]))

    waves = []
    for b in range(1, batches + 1):
        # Whichever runs second pays for the dirty pages the first left (a batch right after
        # COPY's 20,000 rows ran 3-6% slower than after a batch; COPY after a batch 1-2% slower
        # than after COPY, measured): the order alternates, so neither side always goes second.
        first = copier.rates(COPY_ROWS) if b % 2 else {}
        elapsed = run_together([threading.Thread(target=run, args=(conn, mine[b]))
                                for conn, mine in zip(connections, bodies, strict=True)])
        wave = first or copier.rates(COPY_ROWS)
        wave["fills"] = clients * 1000 / elapsed
        waves.append(wave)
    for conn in connections:
        conn.close()
    assert not failures, failures[:3]
    return waves


CALIBRATION_PATHS = {"tradebook": "/api/v1/fills/", "drf": "/bench/drf-fills/", "lean": "/bench/lean-fills/"}


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU time (user + system) used so far by the web server's processes and by the database's
    backends serving this benchmark's database: where a request's cost goes."""
    tick = os.sysconf("SC_CLK_TCK")
    database = DB_URL.rsplit("/", 1)[1]
    out = {"server": 0.0, "database": 0.0}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        used = (int(fields[11]) + int(fields[12])) / tick
        if int(fields[2]) == server_pid:  # process group: gunicorn's master and workers
            out["server"] += used
        elif command.startswith("postgres:") and f" {database} " in command:
            out["database"] += used
    return out


def single_rate(port: int, secret: str, clients: int, seconds: float, max_requests: int,
                server_pid: int | None = None) -> dict:
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures = [0] * clients
    stop_at = time.perf_counter() + seconds
    per_client = max_requests // clients

    def run(c: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for n in range(per_client):
            if time.perf_counter() > stop_at:
                break
            # Each client is a bot on its own symbol: its fills arrive in time order, as a live
            # bot's do. (Clients sharing a symbol serialize on its position row, and a fill
            # committed after a newer one makes the books recompute the symbol.)
            body = json.dumps(fills(f"s{c}-{n}", 1, symbol=f"SYM{c}USDT")[0]).encode()
            t = time.perf_counter()
            status, _ = post(conn, "/api/v1/fills/", body, secret, "application/json")
            latencies[c].append(time.perf_counter() - t)
            if status != 201:
                failures[c] += 1
        conn.close()

    cpu_before = cpu_seconds(server_pid) if server_pid else None
    client_before = time.process_time()
    elapsed = run_together([threading.Thread(target=run, args=(c,)) for c in range(clients)])
    flat = sorted(x for lat in latencies for x in lat)
    cpu = {"client": (time.process_time() - client_before) / max(1, len(flat)) * 1000}
    if cpu_before is not None:
        cpu.update({k: (v - cpu_before[k]) / max(1, len(flat)) * 1000 for k, v in cpu_seconds(server_pid).items()})
    return {"cpu_ms": cpu, "requests": len(flat), "rps": len(flat) / elapsed, "p50_ms": statistics.median(flat) * 1000,
            "p99_ms": flat[min(len(flat) - 1, int(len(flat) * 0.99))] * 1000, "failures": sum(failures)}


# Rows per COPY: one bulk load of 10,000 rows, one transaction, measures the rate COPY reaches
# (a COPY of 1,000 rows pays its commit over fewer rows: about 15% slower here, measured).
COPY_ROWS = 10_000
COPY_COLUMNS = ["account_id", "bot_id", "external_id", "symbol", "side", "price", "quantity", "fee", "fee_currency",
                "other_fees", "order_id", "trade_id", "executed_at", "reason", "source", "meta", "received_at", "void_reason"]


class Copier:
    """Raw COPY of the same fill rows as the API's (same columns and values), on one warm
    connection, as the API's are. `rate(rows, into=)` gives rows/s, committed; `into`:

    - "ledger": the fills table itself, as the API writes it: its primary and unique keys,
      its indexes, check constraints and (deferred) foreign keys. The rows go to an account
      of their own, so they never meet the API's, and name a bot of that account, as the
      API's rows name theirs (each named bot is a foreign key checked at commit);
    - "keyed": a table with the fills table's columns, its primary key and its unique key
      (account, symbol, id), and nothing else (no other index, no check, no foreign key);
    - "plain": a table with the fills table's columns and nothing else (no index, no key).
    """

    TABLES = {"ledger": "trades_fill", "keyed": "bench_copy_keyed", "plain": "bench_copy"}

    def __init__(self):
        import psycopg

        self.conn = psycopg.connect(DB_URL.replace("postgres://", "postgresql://"))
        self.account, self.bot = self.conn.execute(
            "SELECT a.id, b.id FROM accounts_account a JOIN accounts_bot b ON b.account_id = a.id "
            "WHERE a.slug = 'copy-reference'").fetchone()
        for table in ("bench_copy", "bench_copy_keyed"):
            self.conn.execute(f"DROP TABLE IF EXISTS {table}")
            self.conn.execute(f"CREATE TABLE {table} (LIKE trades_fill INCLUDING DEFAULTS INCLUDING IDENTITY)")
        self.conn.execute("ALTER TABLE bench_copy_keyed ADD PRIMARY KEY (id), ADD UNIQUE (account_id, symbol, external_id)")
        self.conn.commit()
        self.runs = 0
        self.rates(1000)  # warm-up: the connection's caches, as the API's are warm

    def rate(self, rows: int, *, into: str) -> float:
        self.runs += 1
        items = fills(f"copy-{into}-{self.runs}", rows)
        table = self.TABLES[into]
        now = datetime.now(UTC)
        start = time.perf_counter()
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
            for i in items:
                copy.write_row((self.account, self.bot, i["id"], i["symbol"], i["side"], i["price"], i["quantity"],
                                i["fee"], i["fee_currency"], "[]", i["order_id"], "", i["executed_at"], "", "bot",
                                "{}", now, ""))
        self.conn.commit()
        return rows / (time.perf_counter() - start)

    def rates(self, rows: int) -> dict[str, float]:
        """rows/s into each table, one after the other: {"ledger", "keyed", "plain"}."""
        return {into: self.rate(rows, into=into) for into in self.TABLES}

    def close(self) -> None:
        self.conn.execute("DROP TABLE bench_copy, bench_copy_keyed")
        self.conn.commit()
        self.conn.close()


def profile_batch() -> None:
    from accounts.models import Account
    from core.exact_json import loads_exact
    from trades.ingest import record

    account = Account.objects.get(slug="bench")
    body = json.dumps(fills("prof", 1000)).encode()
    profiler = cProfile.Profile()
    profiler.enable()
    record(accounts=[account], items=loads_exact(body), item_type="fill")
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
    print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=20, help="waves (a COPY and a batch of 1,000 fills per client, in turns first) per endpoint")
    parser.add_argument("--clients", type=int, default=4, help="concurrent single-fill clients")
    parser.add_argument("--seconds", type=float, default=10, help="time bound of the single-fill run")
    parser.add_argument("--max-requests", type=int, default=20000, help="count bound of the single-fill run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--profile", action="store_true", help="profile one batch in-process first")
    parser.add_argument("--only", choices=("batch", "single"), help="measure only batches or only single fills")
    args = parser.parse_args()

    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start")
    secret = setup_database()
    if args.profile:
        profile_batch()
    waves: dict[str, list[dict[str, float]]] = {}
    with serving(args) as (port, server, copier):
        if args.only != "single":
            waves["json"] = batch_waves(port, secret, copier, args.batches, ndjson=False)
            waves["ndjson"] = batch_waves(port, secret, copier, args.batches, ndjson=True)
            waves["json_2"] = batch_waves(port, secret, copier, args.batches, ndjson=False, clients=2)
        else:
            waves["copy"] = [copier.rates(COPY_ROWS) for _ in range(args.batches)]
        if args.only != "batch":
            single = single_rate(port, secret, args.clients, args.seconds, args.max_requests,
                                 server_pid=server.pid)

    median = statistics.median
    every = [w for ws in waves.values() for w in ws]
    print(f"gunicorn: {args.workers} workers x {args.threads} threads (gthread), PostgreSQL, loopback")
    print(f"(c) COPY into the fills table:        {median(w['ledger'] for w in every):10.0f} rows/s   "
          f"(its keys, indexes and constraints; {COPY_ROWS:,} rows a COPY, the median of every wave)")
    print(f"    COPY into a keyed table:          {median(w['keyed'] for w in every):10.0f} rows/s   "
          "(the fills' columns, primary and unique keys only)")
    print(f"    COPY into a plain table:          {median(w['plain'] for w in every):10.0f} rows/s   "
          "(no index, no key)")
    if args.only != "single":
        for label, key in (("(a) batch /api/v1/fills/ (JSON):    ", "json"),
                           ("(a) batch /api/v1/events/ (NDJSON): ", "ndjson"),
                           ("(a) batch /api/v1/fills/, 2 clients:", "json_2")):
            ws = waves[key]
            print(f"{label}   {median(w['fills'] for w in ws):10.0f} fills/s   "
                  f"= {median(w['fills'] / w['ledger'] for w in ws):.3f} x COPY into the fills table (target >= 0.3), "
                  f"{median(w['fills'] / w['keyed'] for w in ws):.3f} x into a keyed table, "
                  f"{median(w['fills'] / w['plain'] for w in ws):.3f} x into a plain table")
        print("    JSON, 1 client, each wave's ratio: "
              + " ".join(f"{w['fills'] / w['ledger']:.2f}" for w in waves["json"]))
    if args.only != "batch":
        print(f"(b) single fills, {args.clients} clients (a symbol each):   {single['rps']:10.0f} req/s, "
              f"p50 {single['p50_ms']:.1f} ms, p99 {single['p99_ms']:.1f} ms "
              f"(targets >= 500 req/s, p99 < 20 ms); {single['requests']} requests, {single['failures']} not 201")
        cpu = single["cpu_ms"]
        print(f"    CPU per request: server {cpu['server']:.2f} ms, database {cpu['database']:.2f} ms, "
              f"clients {cpu['client']:.2f} ms ({os.cpu_count()} cores shared by all three)")
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at end")


if __name__ == "__main__":
    main()
