"""The real processes the fault tests start, kill and restart, from outside the code under test.

- `PgCluster`: a PostgreSQL cluster of the suite's own (initdb in a temporary folder,
  its own port, its own log file), so it can be stopped in immediate mode without
  touching the shared server at 127.0.0.1:5432.
- `Gunicorn`: the production command line (2 gthread workers of 4 threads), its own
  process group, a log file the tests read for tracebacks.
- `Service`: any other long-running command (Celery worker or beat), also in its own group.
- `REGISTRY`: every process group started here, killed at the end whatever happened.

Only the standard library, pytest's process and psycopg (the project's driver) are used
here: nothing imports Django, so collecting the tests needs no database.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable


# --- knobs -------------------------------------------------------------------------------


def knob(name: str, default: float) -> float:
    """A duration or count the CI run may tune (FAULTS_*); a bad value fails loudly with its name."""
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        return type(default)(raw)
    except ValueError:
        raise ValueError(f"environment variable {name} must be a number, not {raw!r}") from None


# --- process groups ----------------------------------------------------------------------


class Registry:
    """Process groups started by the suite. Each process started leads a group of its own
    (process_group=0), so a kill of the group reaches a gunicorn master's workers or a Celery
    worker's pool too."""

    def __init__(self) -> None:
        self._groups: set[int] = set()
        self._clusters: list[PgCluster] = []
        self._lock = threading.Lock()

    def add_group(self, pgid: int) -> None:
        with self._lock:
            self._groups.add(pgid)

    def discard_group(self, pgid: int) -> None:
        with self._lock:
            self._groups.discard(pgid)

    def add_cluster(self, cluster: PgCluster) -> None:
        with self._lock:
            self._clusters.append(cluster)

    def discard_cluster(self, cluster: PgCluster) -> None:
        with self._lock:
            if cluster in self._clusters:
                self._clusters.remove(cluster)

    def kill_all(self) -> None:
        with self._lock:
            groups, self._groups = sorted(self._groups), set()
            clusters, self._clusters = list(self._clusters), []
        for pgid in groups:
            kill_group(pgid, signal.SIGKILL)
        for cluster in clusters:
            cluster.destroy()


REGISTRY = Registry()
atexit.register(REGISTRY.kill_all)


def _on_sigterm(signum, _frame):
    REGISTRY.kill_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def clean_up_on_sigterm() -> None:
    """CI or a person stopping the run with SIGTERM: leave no gunicorn, Celery or PostgreSQL behind.
    Installed only once the suite starts something (not when the normal suite merely collects it)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _live_processes() -> list[tuple[int, list[str]]]:
    """(pid, the fields of /proc/pid/stat after its name) of every process that is not a zombie."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()  # state, ppid, pgrp, …
        if fields[0] != "Z":
            out.append((int(entry), fields))
    return out


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, read from /proc."""
    return [pid for pid, fields in _live_processes() if int(fields[2]) == pgid]


def children_of(pid: int) -> list[int]:
    return [child for child, fields in _live_processes() if int(fields[1]) == pid]


def wait_group_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not group_members(pgid):
            return True
        time.sleep(0.05)
    return not group_members(pgid)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- PostgreSQL ---------------------------------------------------------------------------


def pg_bin() -> Path:
    override = os.environ.get("FAULTS_PG_BIN")
    if override:
        return Path(override)
    versions = sorted((p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if not versions:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (set FAULTS_PG_BIN)")
    return versions[-1]


class PgCluster:
    """A throwaway cluster: initdb in a temporary folder, trust auth, a port of its own, a log file.

    As root, initdb and pg_ctl run as the `postgres` user (initdb refuses root); the
    folder is handed to that user. No systemd and no /etc/postgresql entry is involved,
    so nothing outlives `destroy()`.
    """

    def __init__(self) -> None:
        self.bin = pg_bin()
        self.base = Path(tempfile.mkdtemp(prefix="tradebook-faults-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "postgres.log"
        self.port = free_port()
        self.stops = 0
        self.starts = 0
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.base, "postgres", "postgres")

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.base)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def create(self) -> None:
        REGISTRY.add_cluster(self)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.base}'",
            "max_connections": "200",
            # What the same-fills storm counts: every deadlock is logged as an ERROR with its
            # statement; lock waits longer than deadlock_timeout are logged too.
            "log_lock_waits": "on",
            "deadlock_timeout": "'1s'",
            "log_line_prefix": "'%m [%p] %q%u@%d '",
            "log_min_error_statement": "error",
            # Durability as in production: an acknowledged commit is on disk before the answer.
            "fsync": "on",
            "synchronous_commit": "on",
        }
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("\n# tradebook fault tests\n")
            for name, value in settings.items():
                conf.write(f"{name} = {value}\n")
        self.start()

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "120", "start", timeout=150)
        self.starts += 1

    def stop_immediate(self) -> None:
        """A crash as far as the database is concerned: no checkpoint, recovery from the WAL at the next start."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "60", "stop", timeout=90)
        self.stops += 1

    def ensure_running(self) -> None:
        """Start the cluster if a test that stops it ended (failed, timed out) while it was down."""
        done = subprocess.run((["runuser", "-u", "postgres", "--"] if self._as_postgres else [])
                              + [str(self.bin / "pg_ctl"), "-D", str(self.data), "status"],
                              capture_output=True, text=True, timeout=30)
        if done.returncode == 3:  # pg_ctl: no server running
            self.start()

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def destroy(self) -> None:
        REGISTRY.discard_cluster(self)
        pid = self.postmaster_pid()
        if pid:
            with contextlib.suppress(Exception):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop", timeout=40)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.base, ignore_errors=True)

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres"):
        import psycopg  # the project's driver, from its venv; imported late so collection needs none

        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True,
                               connect_timeout=10)

    def query(self, dbname: str, sql: str, params=()) -> list[tuple]:
        with self.connect(dbname) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def log_size(self) -> int:
        try:
            return self.log.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset: int) -> str:
        with open(self.log, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")


def deadlocks_in(log_text: str) -> dict:
    """What the database log says about locks: deadlocks (with where and in which statement), lock waits."""
    lines = log_text.splitlines()
    deadlocks = [i for i, line in enumerate(lines) if "ERROR:  deadlock detected" in line]
    statements: Counter = Counter()
    for i in deadlocks:
        context = statement = ""
        for line in lines[i + 1:i + 400]:
            if "ERROR:  " in line or "LOG:  " in line:
                break  # the next record
            if "CONTEXT:  " in line:
                context = " ".join(line.split("CONTEXT:  ", 1)[1].split())
            elif "STATEMENT:  " in line:
                statement = " ".join(line.split("STATEMENT:  ", 1)[1].split())
        context = re.sub(r"\(\d+,\d+\)", "(…)", context)  # tuple positions: one key per kind of deadlock
        statements[f"{statement[:70]}… [{context[:90]}]"] += 1
    waits = sum(1 for line in lines if "still waiting for" in line)
    return {"deadlocks": len(deadlocks), "lock_waits_logged": waits, "deadlock_statements": statements}


# --- the application ------------------------------------------------------------------------


METRICS_TOKEN = "faults-metrics"


def app_env(database_url: str, data_dir: Path, **extra: str) -> dict:
    """The environment of every tradebook process the suite starts (production-like settings)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_URL", "CELERY_", "SNAPSHOT_", "API_", "CONN_", "PYTEST_"))}
    env.update({
        "DATABASE_URL": database_url,
        "SECRET_KEY": "x",
        "API_THROTTLE_RATE": "1000000/s",
        "CONN_MAX_AGE": "60",
        "DJANGO_SETTINGS_MODULE": "tradebook.settings",
        # The app's own files (embedded broker folders, static) go to the test's folder, not ./data.
        "TRADEBOOK_DATA_DIR": str(data_dir),
        "PYTHONUNBUFFERED": "1",
        "METRICS_TOKEN": METRICS_TOKEN,  # GET /metrics with this bearer token
    })
    env.update(extra)
    return env


def manage(env: dict, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def http_request(port: int, method: str, path: str, *, body: bytes | None = None, token: str | None = None,
                 timeout: float = 30) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        conn.close()


def get_json(port: int, path: str, token: str | None = None):
    status, _headers, data = http_request(port, "GET", path, token=token)
    if status != 200:
        raise AssertionError(f"GET {path} answered {status}: {data[:500]!r}")
    return json.loads(data)


class Service:
    """One long-running command in its own process group, output appended to a log file."""

    def __init__(self, command: list[str], env: dict, log: Path, *, name: str) -> None:
        self.command, self.env, self.log, self.name = command, env, log, name
        self.process: subprocess.Popen | None = None
        self.started_at: float | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=out,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            process_group=0)
        REGISTRY.add_group(self.process.pid)
        self.started_at = time.time()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill9(self, *, group_after: float = 2.0) -> None:
        """kill -9 the main process; what it leaves (a pool, orphaned workers) is killed after `group_after` s,
        as a supervisor such as systemd would do with the rest of the unit."""
        if self.process is None:
            return
        pgid = self.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        wait_group_gone(pgid, group_after)
        kill_group(pgid, signal.SIGKILL)
        wait_group_gone(pgid, 5)
        REGISTRY.discard_group(pgid)
        self.process = None

    def stop(self, timeout: float = 10) -> None:
        if self.process is None:
            return
        pgid = self.process.pid
        kill_group(pgid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        if not wait_group_gone(pgid, timeout):
            kill_group(pgid, signal.SIGKILL)
            wait_group_gone(pgid, 5)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        REGISTRY.discard_group(pgid)
        self.process = None

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""


class Gunicorn(Service):
    """gunicorn as in production: `tradebook.wsgi`, 2 gthread workers of 4 threads, cwd = the repository."""

    WORKERS = 2

    def __init__(self, env: dict, log: Path, *, port: int | None = None) -> None:
        self.port = port or free_port()
        command = [str(VENV_BIN / "gunicorn"), "tradebook.wsgi", "--bind", f"127.0.0.1:{self.port}",
                   "--workers", str(self.WORKERS), "--threads", "4", "--worker-class", "gthread"]
        super().__init__(command, env, log, name="gunicorn")
        self.master_kills = 0
        self.worker_kills = 0
        self.master_restarts = 0

    def start(self, timeout: float = 60) -> None:
        super().start()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 60) -> None:
        """Until /healthz answers (no database involved) and the master has its workers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"gunicorn exited with {self.process.returncode if self.process else '?'}; "
                                   f"its log:\n{self.log_text()[-3000:]}")
            try:
                status, _h, _b = http_request(self.port, "GET", "/healthz", timeout=5)
                if status == 200 and len(self.workers()) >= self.WORKERS:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn not ready in {timeout} s; its log:\n{self.log_text()[-3000:]}")

    def workers(self) -> list[int]:
        return children_of(self.pid) if self.alive() else []

    def kill_worker(self, rng) -> int | None:
        workers = self.workers()
        if not workers:
            return None
        victim = rng.choice(workers)
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
        self.worker_kills += 1
        return victim

    def kill_master_and_restart(self) -> None:
        """kill -9 the master. Its workers notice they are orphans and stop on their own; whatever is left
        after a moment is killed (as a supervisor would), then a new master binds the port again."""
        self.kill9(group_after=3.0)
        self.master_kills += 1
        self.start()
        self.master_restarts += 1


def server_errors_in_log(text: str) -> Counter:
    """Django's "Internal Server Error: <path>" records and the exception each ended with."""
    errors: Counter = Counter()
    lines = text.splitlines()
    exception_line = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Failure|Exit|Interrupt|Warning)[\w.]*)(: .*)?$")
    for line in lines:  # the app's log lines are JSON objects (core.logs), the exception in one field
        if line.startswith("{") and '"Internal Server Error: ' in line:
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                path = entry.get("message", "").split(":", 1)[1].strip()
                last = [x for x in entry.get("exception", "").splitlines() if exception_line.match(x)]
                errors[(path, (last[-1] if last else "(no traceback found)")[:300])] += 1
    for i, line in enumerate(lines):
        if not line.startswith("Internal Server Error:"):
            continue
        path = line.split(":", 1)[1].strip()
        last = None
        for follow in lines[i + 1:i + 400]:
            if follow.startswith("Internal Server Error:") or follow.startswith("[20"):
                break
            if exception_line.match(follow):
                last = follow
        errors[(path, (last or "(no traceback found)")[:300])] += 1
    return errors


# --- printing ---------------------------------------------------------------------------------


def print_figures(title: str, figures: dict) -> None:
    """One readable block per test, also when it fails (printed before the assertions)."""
    width = max(len(k) for k in figures) + 2
    out = [f"\n===== {title} " + "=" * max(4, 70 - len(title))]
    for key, value in figures.items():
        if isinstance(value, dict | Counter):
            if not value:
                out.append(f"  {key:<{width}} -")
                continue
            out.append(f"  {key}:")
            for k, v in sorted(value.items(), key=lambda kv: str(kv[0])):
                out.append(f"      {k}: {v}")
        elif isinstance(value, list):
            out.append(f"  {key}:" if value else f"  {key:<{width}} -")
            for v in value:
                out.append(f"      {v}")
        else:
            out.append(f"  {key:<{width}} {value}")
    out.append("=" * 77)
    print("\n".join(out), flush=True)


# --- clients ------------------------------------------------------------------------------------


class Clients:
    """Client processes (tests/faults/loadgen.py), each in its own process group, each writing a JSON result."""

    SCRIPT = Path(__file__).resolve().parent / "loadgen.py"

    def __init__(self, specs: list[dict], workdir: Path) -> None:
        self.workdir = workdir
        self.processes: list[tuple[subprocess.Popen, Path, Path]] = []
        for i, spec in enumerate(specs):
            spec_path, out, log = (workdir / f"client-{i}.spec.json", workdir / f"client-{i}.result.json",
                                   workdir / f"client-{i}.log")
            spec_path.write_text(json.dumps(spec))
            with open(log, "wb") as log_file:
                process = subprocess.Popen([PYTHON, str(self.SCRIPT), str(spec_path), str(out)], cwd=ROOT,
                                           stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                           process_group=0)
            REGISTRY.add_group(process.pid)
            self.processes.append((process, out, log))

    def wait(self, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        try:
            for process, _out, _log in self.processes:
                process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"clients still running after {timeout:.0f} s: killed") from None
        except BaseException:  # pytest-timeout or ^C: no client may go on loading the next test's server
            self.kill()
            raise
        results = []
        for process, out, log in self.processes:
            REGISTRY.discard_group(process.pid)
            if process.returncode != 0 or not out.exists():
                raise AssertionError(f"client {log.name} exited {process.returncode}:\n"
                                     f"{log.read_text(errors='replace')[-3000:]}")
            results.append(json.loads(out.read_text()))
        return results

    def kill(self) -> None:
        for process, _out, _log in self.processes:
            kill_group(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)
            REGISTRY.discard_group(process.pid)
