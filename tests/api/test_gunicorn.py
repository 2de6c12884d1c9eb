"""tradebook under a real gunicorn, started as in production from the repository (its
gunicorn.conf.py): a graceful stop finishes the request in flight, and several workers answer
one set of counters at GET /metrics."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from prometheus_client import CollectorRegistry, multiprocess

from tests.api.write_helpers import fill
from tests.factories import make_account, make_token
from tests.snapshots.test_worker import database_url
from trades.models import Fill

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(settings.BASE_DIR)
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
METRICS_TOKEN = "gunicorn-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, tmp: Path, *, workers: int, worker_class: str):
        self.port = free_port()
        self.log = tmp / "gunicorn.log"
        self.data = tmp / "data"
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        env.update(DATABASE_URL=database_url(), SECRET_KEY="gunicorn-test", TRADEBOOK_DATA_DIR=str(self.data),
                   METRICS_TOKEN=METRICS_TOKEN, API_THROTTLE_RATE="1000000/s", GUNICORN_GRACEFUL_TIMEOUT="20")
        command = [str(GUNICORN), "tradebook.wsgi", "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
                   "--worker-class", worker_class]
        if worker_class == "gthread":
            command += ["--threads", "4"]
        self.workers = workers
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log.open("w"),
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while self.log.read_text().count("Booting worker") < workers or not self._answers():
            assert self.process.poll() is None, f"gunicorn exited:\n{self.log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"gunicorn not ready:\n{self.log.read_text()[-3000:]}"
            time.sleep(0.2)

    def _answers(self) -> bool:
        try:
            return self.request("GET", "/healthz")[0] == 200
        except OSError:
            return False

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@pytest.fixture
def server(tmp_path):
    started = []

    def start(**kwargs) -> Server:
        started.append(Server(tmp_path, **kwargs))
        return started[-1]

    yield start
    for s in started:
        s.stop()


def posted_by(counter_file: Path) -> float:
    """The POST /api/v1/fills/ 201s one process counted, read from its file alone."""
    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(counter_file, folder)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=folder)
        return registry.get_sample_value("tradebook_http_requests_total",
                                         {"method": "POST", "route": "api/v1/fills/", "status": "201"}) or 0.0


@pytest.mark.parametrize("worker_class", ["sync", "gthread"])
def test_sigterm_lets_the_request_in_flight_finish_and_be_answered(server, worker_class):
    account = make_account("alpha")
    _token, secret = make_token(account)
    web = server(workers=1, worker_class=worker_class)
    body = json.dumps(fill(1)).encode()
    with socket.create_connection(("127.0.0.1", web.port), timeout=30) as sock:
        sock.sendall(b"POST /api/v1/fills/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Authorization: Bearer " + secret.encode() + b"\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n")
        sock.sendall(body[:10])
        time.sleep(1.0)  # the worker has the request and waits for the rest of its body
        os.kill(web.process.pid, signal.SIGTERM)
        time.sleep(1.0)
        assert web.process.poll() is None, "the master did not wait for the request in flight"
        sock.sendall(body[10:])
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 201 "), answer[:500]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["counts"] == {"created": 1, "duplicate": 0, "updated": 0}
    assert web.process.wait(30) == 0
    assert list(Fill.objects.values_list("external_id", flat=True)) == ["f1"]
    log = web.log.read_text()
    assert "Handling signal: term" in log
    assert "Worker exiting" in log


def test_every_worker_answers_the_same_counters(server):
    account = make_account("alpha")
    _token, secret = make_token(account)
    web = server(workers=2, worker_class="sync")
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}

    def post_some(start: int) -> None:
        for n in range(start, start + 10):
            status, _body = web.request("POST", "/api/v1/fills/", json.dumps(fill(n)).encode(), headers)
            assert status == 201

    threads = [threading.Thread(target=post_some, args=(start,)) for start in (0, 100, 200, 300)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    folders = list((web.data / "metrics").glob("gunicorn-*"))
    assert len(folders) == 1
    # Each worker's own file: both answered some of the 40 (else one set of counters proves nothing).
    per_worker = [posted_by(path) for path in sorted(folders[0].glob("counter_*.db"))]
    assert len(per_worker) == 2 and all(n > 0 for n in per_worker) and sum(per_worker) == 40, per_worker
    pattern = re.compile(rb'^tradebook_http_requests_total\{method="POST",route="api/v1/fills/",status="201"\} '
                         rb'(\S+)$', re.M)
    created = re.compile(rb'^tradebook_items_ingested_total\{outcome="created",type="fill"\} (\S+)$', re.M)
    for _ in range(8):  # new connections: the scrapes land on either worker
        status, text = web.request("GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert status == 200
        assert float(pattern.search(text).group(1)) == 40
        assert float(created.search(text).group(1)) == 40
    os.kill(web.process.pid, signal.SIGTERM)
    assert web.process.wait(30) == 0
    assert not folders[0].exists()  # a master's own metrics folder goes with it
