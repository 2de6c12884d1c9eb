"""Crash test (SPEC 4.4): clients that retry until acknowledged, while gunicorn's master and workers are
killed with SIGKILL and PostgreSQL is stopped in immediate mode, again and again.

Held: every acknowledged fill is stored exactly once, nothing is stored that was not
sent, the stored amounts add up to what was sent, the positions equal an independent
recomputation (SPEC 5, average cost), `verify_ledger` finds no difference, and an
outage is answered 503 with Retry-After — never 500.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from decimal import Decimal

import pytest

from tests.faults.harness import (
    METRICS_TOKEN,
    Clients,
    Gunicorn,
    deadlocks_in,
    http_request,
    knob,
    manage,
    print_figures,
    server_errors_in_log,
)
from tests.faults.storms import content_differences, position_differences, stored_fills

pytestmark = [pytest.mark.faults]

SECONDS = knob("FAULTS_CRASH_SECONDS", 60.0)  # of load under faults
CLIENTS = knob("FAULTS_CRASH_CLIENTS", 8)
KILLS = knob("FAULTS_CRASH_KILLS", 24)  # SIGKILLs of gunicorn; every 4th is the master
PG_STOPS = knob("FAULTS_CRASH_PG_STOPS", 4)
PG_OUTAGE = knob("FAULTS_CRASH_PG_OUTAGE", 3.0)  # seconds the database stays down each time
# After the load, how long a client may still retry the request in hand (the system is healthy by then).
GRACE = knob("FAULTS_CRASH_GRACE", 60.0)
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
# A 500 this close after the database came back is still counted as "during the outage".
OUTAGE_TAIL = 5.0

# GET /metrics (with the suite's METRICS_TOKEN) must answer 200 and declare the families below (a
# "# TYPE <family>" line each); FAULTS_METRICS_FAMILIES (comma-separated) replaces the list.
# FAULTS_REQUIRE_METRICS=0 tolerates a 404 again (a tradebook without the endpoint).
REQUIRE_METRICS = os.environ.get("FAULTS_REQUIRE_METRICS", "1").lower() in {"1", "true", "yes", "on"}
METRICS_FAMILIES = tuple(
    name.strip() for name in os.environ.get(
        "FAULTS_METRICS_FAMILIES",
        "tradebook_http_requests_total,tradebook_http_request_duration_seconds,"
        "tradebook_items_ingested_total,tradebook_database_unavailable_total",
    ).split(",") if name.strip()
)


class GunicornChaos(threading.Thread):
    """SIGKILLs spread over the load: workers (the master forks a new one), and every 4th time the master
    (restarted by us, as a supervisor would)."""

    def __init__(self, server: Gunicorn, t0: float, rng: random.Random) -> None:
        super().__init__(daemon=True, name="gunicorn-chaos")
        self.server, self.rng = server, rng
        span = SECONDS - 5
        self.plan = [(t0 + 2 + span * (i + rng.random()) / KILLS, "master" if i % 4 == 3 else "worker")
                     for i in range(KILLS)]
        self.events: list[tuple[float, str]] = []
        self.errors: list[str] = []

    def run(self) -> None:
        for at, target in self.plan:
            time.sleep(max(0.0, at - time.time()))
            try:
                if target == "master":
                    self.server.kill_master_and_restart()
                    self.events.append((time.time(), "master killed and restarted"))
                else:
                    for _ in range(50):  # both workers may be booting after an earlier kill
                        if self.server.kill_worker(self.rng):
                            self.events.append((time.time(), "worker killed"))
                            break
                        time.sleep(0.1)
                    else:
                        self.errors.append(f"{time.time():.1f}: no worker to kill")
            except Exception as exc:  # reported with the figures; the test fails on it
                self.errors.append(f"{target}: {type(exc).__name__}: {exc}")


class DatabaseChaos(threading.Thread):
    """Immediate stops of the cluster (a crash: recovery from the WAL at start), PG_OUTAGE seconds each."""

    def __init__(self, cluster, t0: float) -> None:
        super().__init__(daemon=True, name="database-chaos")
        self.cluster = cluster
        span = SECONDS - 8 - PG_OUTAGE
        self.plan = [t0 + 4 + span * (i + 0.5) / PG_STOPS for i in range(PG_STOPS)]
        self.outages: list[tuple[float, float]] = []  # (stopped at, ready again at)
        self.errors: list[str] = []

    def run(self) -> None:
        for at in self.plan:
            time.sleep(max(0.0, at - time.time()))
            try:
                stopped = time.time()
                self.cluster.stop_immediate()
                time.sleep(PG_OUTAGE)
                self.cluster.start()
                self.outages.append((stopped, time.time()))
            except Exception as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")


class MetricsPoller(threading.Thread):
    def __init__(self, port: int, until: float) -> None:
        super().__init__(daemon=True, name="metrics")
        self.port, self.until = port, until
        self.statuses: Counter = Counter()

    def run(self) -> None:
        while time.time() < self.until:
            try:
                status, _h, _b = http_request(self.port, "GET", "/metrics", token=METRICS_TOKEN, timeout=10)
                self.statuses[status] += 1
            except OSError as exc:
                self.statuses[type(exc).__name__] += 1
            time.sleep(2)


def check_metrics(port: int, failures: list[str]) -> str:
    status, headers, body = http_request(port, "GET", "/metrics", token=METRICS_TOKEN)
    if status == 404 and not REQUIRE_METRICS:
        return "404: no endpoint (tolerated: FAULTS_REQUIRE_METRICS=0)"
    if status != 200:
        failures.append(f"GET /metrics answered {status}: {body[:300]!r}")
        return f"{status}"
    text = body.decode("utf-8", "replace")
    declared = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ") and len(line.split()) > 3}
    missing = [family for family in METRICS_FAMILIES if family not in declared]
    if missing:
        failures.append(f"GET /metrics lacks the families {missing} (declared: {sorted(declared)[:30]})")
    return f"200, {len(declared)} families declared, missing {missing or 'none'}"


@pytest.mark.timeout(SECONDS + GRACE + 300)
def test_acknowledged_fills_survive_kills_and_database_crashes(template, database, served, tmp_path):
    started = time.time()
    cluster, env, server, log_offset = served.cluster, served.env, served.server, served.log_offset

    t0 = time.time() + 1.0
    deadline = t0 + SECONDS
    specs = [{"mode": "crash", "port": server.port, "token": template.token, "client": i, "clients": CLIENTS,
              "seed": 1000 + i, "symbols": SYMBOLS, "deadline": deadline, "give_up_at": deadline + GRACE,
              "timeout": 30} for i in range(CLIENTS)]
    clients = Clients(specs, tmp_path)
    rng = random.Random(7)
    gunicorn_chaos, database_chaos = GunicornChaos(server, t0, rng), DatabaseChaos(cluster, t0)
    metrics = MetricsPoller(server.port, deadline)
    for thread in (gunicorn_chaos, database_chaos, metrics):
        thread.start()
    try:
        results = clients.wait(SECONDS + GRACE + 60)
    finally:
        for thread in (gunicorn_chaos, database_chaos, metrics):
            thread.join(120)
    load_seconds = time.time() - t0

    # --- what the clients sent and what was acknowledged -------------------------------------
    sent: dict[str, dict] = {}
    acked: set[str] = set()
    unacked: set[str] = set()
    statuses, conn_errors, retry_after, requests, first_try = Counter(), Counter(), Counter(), Counter(), Counter()
    server_errors, unexpected = [], []
    retries = attempts = not_json_503 = 0
    for r in results:
        sent.update(r["sent"])
        acked.update(r["acked"])
        unacked.update(r["unacked"])
        statuses.update({int(k): v for k, v in r["statuses"].items()})
        conn_errors.update(r["conn_errors"])
        retry_after.update(r["retry_after"])
        requests.update(r["requests"])
        first_try.update(r["first_try_ok"])
        server_errors.extend(r["server_errors"])
        unexpected.extend(r["unexpected"])
        retries += r["retries"]
        attempts += r["attempts"]
        not_json_503 += r["not_json_503"]

    # --- what the database holds ------------------------------------------------------------------
    rows = stored_fills(cluster, database, template.account)
    stored = Counter(external_id for _s, external_id, *_rest in rows)
    stored_ids = set(stored)
    lost = acked - stored_ids
    duplicated = {k: n for k, n in stored.items() if n > 1}
    never_sent = stored_ids - set(sent)
    stored_unacked = stored_ids & unacked
    mismatched = content_differences([row for row in rows if row[1] in sent], sent)
    db_notional, db_fees = cluster.query(database, """
        SELECT coalesce(sum(f.price * f.quantity), 0), coalesce(sum(f.fee), 0)
        FROM trades_fill f JOIN accounts_account a ON a.id = f.account_id WHERE a.slug = %s""",
                                         (template.account,))[0]
    acked_fills = [sent[i] for i in sorted(acked)]
    sent_notional = sum((Decimal(f["price"]) * Decimal(f["quantity"]) for f in acked_fills), Decimal(0))
    sent_fees = sum((Decimal(f["fee"]) for f in acked_fills), Decimal(0))

    # --- the books: the API's positions against an independent recomputation ----------------------
    stored_sent = [sent[i] for i in stored_ids if i in sent]
    differences = position_differences(server.port, template.token, template.account, stored_sent)
    verify = manage(env, "verify_ledger", "--account", template.account, check=False)
    failures: list[str] = []
    metrics_result = check_metrics(server.port, failures)

    # --- outages and 500s -------------------------------------------------------------------------
    outages = database_chaos.outages
    five_hundreds = [e for e in server_errors if e["status"] >= 500 and e["status"] != 503]

    def during_outage(event: dict) -> bool:
        """Answered while the database was down or coming back (sent before the stop does not matter)."""
        return any(stop <= event["answered"] <= ready + OUTAGE_TAIL for stop, ready in outages)

    five_hundred_kinds = Counter(
        f"{'batch' if e['kind'].startswith('batch') else 'single'} fill, "
        f"{'during a database outage' if during_outage(e) else 'outside database outages'}"
        for e in five_hundreds)
    five_hundred_bodies = Counter(e["body"][:160] for e in five_hundreds)
    # Where a 500 outside an outage fell: seconds from the nearest stop or restart of the database.
    five_hundreds_outside = [
        f"{e['kind']}: answered {min((e['answered'] - mark for stop, ready in outages for mark in (stop, ready)), key=abs, default=float('nan')):+.1f} s "
        f"from a database stop/restart" for e in five_hundreds if not during_outage(e)]
    gunicorn_log = server.log_text()
    logged_errors = server_errors_in_log(gunicorn_log)
    workers_booted = gunicorn_log.count("Booting worker with pid")
    locks = deadlocks_in(cluster.log_since(log_offset))

    print_figures("crash test: kill -9 gunicorn, immediate PostgreSQL stops", {
        "load (s), under faults": f"{SECONDS:.0f} planned, {load_seconds:.1f} until the last client finished",
        "clients": CLIENTS,
        "requests (single fills, batches)": dict(requests),
        "requests acknowledged at the first try": dict(first_try),
        "attempts": attempts,
        "retries": retries,
        "fills sent": len(sent),
        "fills acknowledged": len(acked),
        "fills never acknowledged": len(unacked),
        "fills stored": len(stored_ids),
        "lost (acknowledged, not stored)": len(lost),
        "duplicated (stored twice)": len(duplicated),
        "stored, never sent": len(never_sent),
        "stored, sent but never acknowledged": len(stored_unacked),
        "stored with other content than sent": len(mismatched),
        "sum price x quantity, database": db_notional,
        "sum price x quantity, acknowledged": sent_notional,
        "sum fees, database": db_fees,
        "sum fees, acknowledged": sent_fees,
        "positions compared (symbols)": len({f["symbol"] for f in stored_sent}),
        "position differences": differences,
        "verify_ledger exit code": verify.returncode,
        "gunicorn kills": f"{server.worker_kills} workers, {server.master_kills} masters "
                          f"({server.worker_kills + server.master_kills} in all)",
        "gunicorn master restarts": server.master_restarts,
        "gunicorn workers booted": workers_booted,
        "database immediate stops / restarts": f"{cluster.stops} / {len(outages)}",
        "database outages (s)": [f"{ready - stop:.1f}" for stop, ready in outages],
        "chaos errors": gunicorn_chaos.errors + database_chaos.errors,
        "HTTP statuses (every attempt)": dict(sorted(statuses.items())),
        "connection errors": dict(conn_errors),
        "503 answers and Retry-After": dict(retry_after),
        "503 answers without a JSON error body": not_json_503,
        "500 answers by request kind": dict(five_hundred_kinds),
        "500 answers outside outages": five_hundreds_outside[:10],
        "500 answer bodies": dict(five_hundred_bodies),
        "500s in gunicorn's log (path, exception)": dict(logged_errors),
        "other unexpected answers (4xx)": [f"{e['status']} {e['kind']}: {e['body'][:200]}" for e in unexpected[:10]],
        "deadlocks in the database log": locks["deadlocks"],
        "lock waits logged": locks["lock_waits_logged"],
        "GET /metrics during the load": dict(metrics.statuses),
        "GET /metrics after the load": metrics_result,
        "wall time (s)": f"{time.time() - started:.1f}",
    })

    if server.worker_kills + server.master_kills < KILLS:
        failures.append(f"only {server.worker_kills + server.master_kills} gunicorn kills of {KILLS} planned")
    if len(outages) < PG_STOPS:
        failures.append(f"only {len(outages)} database stops and restarts of {PG_STOPS} planned")
    if gunicorn_chaos.errors or database_chaos.errors:
        failures.append(f"fault injection failed: {gunicorn_chaos.errors + database_chaos.errors}")
    if unacked:
        failures.append(f"{len(unacked)} fills never acknowledged, although the service was healthy for "
                        f"{GRACE:.0f} s after the load")
    if lost:
        failures.append(f"{len(lost)} acknowledged fills lost, e.g. {sorted(lost)[:5]}")
    if duplicated:
        failures.append(f"{len(duplicated)} fills stored more than once, e.g. {list(duplicated)[:5]}")
    if never_sent:
        failures.append(f"{len(never_sent)} fills stored that no client sent, e.g. {sorted(never_sent)[:5]}")
    if mismatched:
        failures.append(f"{len(mismatched)} fills stored with other content than sent, e.g. {mismatched[:5]}")
    if (db_notional, db_fees) != (sent_notional, sent_fees):
        failures.append(f"sums differ: price x quantity {db_notional} stored vs {sent_notional} acknowledged, "
                        f"fees {db_fees} vs {sent_fees}")
    if differences:
        failures.append(f"positions differ from the recomputation: {differences[:8]}")
    if verify.returncode != 0:
        failures.append(f"verify_ledger exited {verify.returncode}: {(verify.stdout + verify.stderr)[-1500:]}")
    if five_hundreds:
        failures.append(f"{len(five_hundreds)} answers 500 (an outage must be a 503): {dict(five_hundred_kinds)}; "
                        f"logged: {dict(logged_errors)}")
    if retry_after.get("without Retry-After"):
        failures.append(f"{retry_after['without Retry-After']} answers 503 without Retry-After")
    if not_json_503:
        failures.append(f"{not_json_503} answers 503 without a JSON error body")
    if unexpected:
        failures.append(f"{len(unexpected)} unexpected 4xx answers to a request sent again unchanged, e.g. "
                        f"{unexpected[:3]}")
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)
