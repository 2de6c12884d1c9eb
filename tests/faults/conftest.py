"""The fault suite: tradebook run as in production (gunicorn, PostgreSQL, Celery on Redis) and hurt
from outside — processes killed with SIGKILL, the database stopped in immediate mode, the same
fills posted by many clients at once — then the books checked against what the clients sent.

    .venv/bin/python -m pytest tests/faults -m faults -p no:cacheprovider -s

Every test here carries the `faults` mark, and is deselected unless the `-m` expression names
`faults`: the normal suite (`bin/test`, which collects tests/) must not start clusters and
servers for minutes. The tests talk to their own PostgreSQL cluster (initdb in a temporary
folder, a free port, its own log), never to Django's test database: no `db` fixture, and
nothing here imports Django, so collecting them needs no database.

Tuning (environment; defaults in brackets): FAULTS_CRASH_SECONDS [60], FAULTS_CRASH_CLIENTS [8],
FAULTS_CRASH_KILLS [24], FAULTS_CRASH_PG_STOPS [4], FAULTS_CRASH_PG_OUTAGE [3],
FAULTS_CRASH_GRACE [60]; FAULTS_REPLAY_FILLS [10000], FAULTS_REPLAY_CLIENTS [8];
FAULTS_SAME_FILLS [3000]; FAULTS_CELERY_INTERVAL [2], FAULTS_CELERY_SECONDS [40],
FAULTS_CELERY_KILLS [4], FAULTS_CELERY_DOWN [3], FAULTS_CELERY_ALL_DOWN [5],
FAULTS_CELERY_VISIBILITY_TIMEOUT [6], FAULTS_REDIS_DB [2 + pid % 13].
GET /metrics: required (FAULTS_REQUIRE_METRICS=0 tolerates its absence, a 404);
FAULTS_METRICS_FAMILIES names the families it must declare (tests/faults/test_crash.py).
FAULTS_PG_BIN: the PostgreSQL server binaries (default: the newest /usr/lib/postgresql/*/bin).
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass

import pytest

from tests.faults.harness import REGISTRY, Gunicorn, PgCluster, app_env, clean_up_on_sigterm, manage

ACCOUNT = "faults"
TEMPLATE_DB = "tradebook_template"


@dataclass(frozen=True)
class Template:
    """A migrated database with one paper account and a token for it; each test copies it."""

    cluster: PgCluster
    dbname: str
    account: str
    token: str


@dataclass(frozen=True)
class Served:
    """gunicorn, as in production, on this test's copy of the template."""

    cluster: PgCluster
    env: dict
    server: Gunicorn
    log_offset: int  # where the database log stood before the server started


@pytest.fixture(scope="package")
def cluster(tmp_path_factory):
    clean_up_on_sigterm()
    pg = PgCluster()
    try:
        pg.create()
        yield pg
    finally:
        # The database log outlives the cluster, beside the tests' own logs, for a failed CI run.
        kept = tmp_path_factory.getbasetemp() / "postgres.log"
        with contextlib.suppress(OSError):
            shutil.copyfile(pg.log, kept)
            print(f"\ntests/faults: the database log is kept at {kept}")
        REGISTRY.kill_all()  # every process group still running, and the cluster
        pg.destroy()


@pytest.fixture(scope="package")
def template(cluster, tmp_path_factory) -> Template:
    cluster.query("postgres", f"CREATE DATABASE {TEMPLATE_DB}")
    env = app_env(cluster.url(TEMPLATE_DB), tmp_path_factory.mktemp("template-data"))
    manage(env, "migrate", "--noinput")
    manage(env, "create_account", "--slug", ACCOUNT, "--name", "Fault suite", "--exchange", "paper",
           "--kind", "paper", "--base-currency", "USDT", "--initial-capital", "10000")
    issued = manage(env, "issue_token", "--account", ACCOUNT, "--name", "faults-bot")
    token = issued.stdout.strip().splitlines()[-1].strip()
    return Template(cluster=cluster, dbname=TEMPLATE_DB, account=ACCOUNT, token=token)


@pytest.fixture
def database(template, request) -> str:
    """A fresh copy of the template for this test (CREATE DATABASE … TEMPLATE: a file copy, no migrate)."""
    name = "tradebook_" + request.node.name.removeprefix("test_").replace("-", "_")[:40]
    template.cluster.ensure_running()
    template.cluster.query("postgres", f"CREATE DATABASE {name} TEMPLATE {template.dbname}")
    return name


@pytest.fixture
def services():
    """Every Service a test starts; all stopped at its end, passed or failed."""
    started = []
    yield started
    for service in reversed(started):
        service.stop()


@pytest.fixture
def served(template, database, services, tmp_path) -> Served:
    cluster = template.cluster
    log_offset = cluster.log_size()
    env = app_env(cluster.url(database), tmp_path / "data")
    server = Gunicorn(env, tmp_path / "gunicorn.log")
    services.append(server)
    server.start()
    return Served(cluster, env, server, log_offset)
