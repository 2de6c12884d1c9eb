"""A real tradebook for the client's tests and bench: its own PostgreSQL database, migrated,
an account and a token, and gunicorn serving `tradebook.wsgi` on a free loopback port —
started, stopped (SIGTERM or SIGKILL) and started again on the same database.

The repository root is two levels up (TRADEBOOK_ROOT overrides it); commands run with the
Python that runs the tests, whose venv holds the project's dependencies and gunicorn.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List

ROOT = Path(os.environ.get("TRADEBOOK_ROOT") or Path(__file__).resolve().parents[2])
PG_ADMIN = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-d", "postgres", "-c"]
PG_URL = os.environ.get("CLIENT_TESTS_POSTGRES", "postgres://postgres@127.0.0.1:5432")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Tradebook:
    """One tradebook server on a database of its own (`name`), dropped by `destroy()`."""

    def __init__(self, name: str, *, workers: int = 2, throttle: str = "100000/s") -> None:
        self.db = name
        self.workers = workers
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        self.env = {
            **os.environ,
            "DATABASE_URL": f"{PG_URL}/{name}",
            "SECRET_KEY": "test",
            "API_THROTTLE_RATE": throttle,
            "TRADEBOOK_DATA_DIR": str(self.data_dir),
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.log_path = self.data_dir / "gunicorn.log"

    # --- database and commands -------------------------------------------------

    def create(self) -> Tradebook:
        subprocess.run(PG_ADMIN + [f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)'], check=True)
        subprocess.run(PG_ADMIN + [f'CREATE DATABASE "{self.db}"'], check=True)
        self.manage("migrate", "--no-input", "-v0")
        return self

    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def account(self, slug: str, *, base_currency: str = "USDT") -> str:
        self.manage("create_account", "--slug", slug, "--name", slug, "--exchange", "paper", "--kind", "paper",
                    "--base-currency", base_currency, "--initial-capital", "10000")
        return slug

    def token(self, *slugs: str, name: str) -> str:
        args = []
        for slug in slugs:
            args += ["--account", slug]
        out = self.manage("issue_token", *args, "--name", name)
        return out.strip().splitlines()[-1].strip()  # printed alone on the last line

    def accounts(self, slugs: List[str]) -> Dict[str, str]:
        """Several accounts, each with a token of its own, in one Django process: the same two
        commands as `account` and `token`, run through call_command (starting Django once per
        command would cost a test suite minutes)."""
        script = (
            "import io, json, sys\n"
            "from django.core.management import call_command\n"
            "tokens = {}\n"
            f"for slug in {slugs!r}:\n"
            "    call_command('create_account', slug=slug, name=slug, exchange='paper', kind='paper',\n"
            "                 base_currency='USDT', initial_capital='10000', stdout=io.StringIO())\n"
            "    out = io.StringIO()\n"
            "    call_command('issue_token', account=[slug], name=slug, stdout=out)\n"
            "    tokens[slug] = out.getvalue().strip().splitlines()[-1].strip()\n"
            "sys.stdout.write(json.dumps(tokens) + '\\n')\n"
        )
        out = self.manage("shell", "--no-imports", "-c", script)
        return json.loads(out.strip().splitlines()[-1])

    def psql(self, sql: str) -> str:
        done = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", self.db, "-At", "-c", sql],
                              capture_output=True, text=True, check=True)
        return done.stdout.strip()

    # --- the web server ----------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: bool = True) -> Tradebook:
        assert self.process is None, "already running"
        if not self.port:
            self.port = free_port()
        gunicorn = Path(sys.executable).with_name("gunicorn")
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            # gunicorn as in production; its control socket (one path per user) is left to other servers.
            [str(gunicorn), "tradebook.wsgi", "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
             "--graceful-timeout", "5", *self._no_control_socket()],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, process_group=0,
        )
        log.close()
        if wait:
            self.wait_ready()
        return self

    @staticmethod
    def _no_control_socket() -> List[str]:
        """gunicorn 25+ opens a control socket at one path per user: servers of concurrent test runs
        would take it from each other. Older gunicorns have no such option."""
        gunicorn = Path(sys.executable).with_name("gunicorn")
        out = subprocess.run([str(gunicorn), "--help"], capture_output=True, text=True).stdout
        return ["--no-control-socket"] if "--no-control-socket" in out else []

    def healthy(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as answer:
                return answer.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"tradebook did not answer in {timeout}s:\n{self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        """Stop gunicorn: SIGTERM (graceful) or SIGKILL (the master and its workers at once)."""
        process, self.process = self.process, None
        if process is None:
            return
        try:
            # The whole process group: with SIGKILL the workers would otherwise outlive the master.
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        if sig != signal.SIGKILL:
            return
        # Workers of a killed master are killed with it (same group); make sure the port is free.
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    time.sleep(0.05)
            except OSError:
                return

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def destroy(self) -> None:
        self.stop(signal.SIGKILL)
        subprocess.run(PG_ADMIN + [f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)'], check=False)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    # --- direct HTTP, independent of the client under test -----------------------

    def get(self, path: str, token: str) -> dict:
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read(), parse_float=str, parse_int=str)
