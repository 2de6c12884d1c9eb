"""A persistent database connection (CONN_MAX_AGE) under the write path (PostgreSQL).

The token query opens every API request's database work, so it stands in for Django's
health check (CONN_HEALTH_CHECKS): no `SELECT 1` on a live connection, and a connection
the server dropped between requests is replaced without the request failing. The write
path's statements are prepared once per connection (DB_PREPARED_STATEMENTS), and still
run, unprepared, where preparing is off.
"""

import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection, connections

from tests.api.write_helpers import fill, post
from trades.models import Fill

pytestmark = pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
                                reason="persistent connections and server-side termination: PostgreSQL")


@pytest.fixture
def health_checked(monkeypatch):
    """Django's health checks on, and a count of the `SELECT 1` checks it makes."""
    wrapper = connections["default"]  # the object itself: `connection` is a proxy to it
    monkeypatch.setitem(wrapper.settings_dict, "CONN_HEALTH_CHECKS", True)
    monkeypatch.setattr(wrapper, "health_check_enabled", True)
    checks = []
    usable = wrapper.is_usable

    def counted():
        checks.append(usable())
        return checks[-1]

    monkeypatch.setattr(wrapper, "is_usable", counted)
    return checks


def _new_request() -> None:
    # What Django's request_started does for a reused connection (the test client skips it).
    connection.health_check_done = False


def _terminate_backend() -> None:
    """Drop our connection from the server's side, as a restart or an idle timeout would."""
    pid = connection.connection.info.backend_pid
    # autocommit: each look at pg_stat_activity is its own transaction, so it sees the present.
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(100):
            if not admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError(f"backend {pid} is still there")


@pytest.mark.django_db(transaction=True)
def test_a_request_on_a_live_connection_makes_no_separate_health_check(api, health_checked):
    connection.ensure_connection()
    _new_request()
    response = post(api, "/api/v1/fills/", fill(1))
    assert response.status_code == 201, response.content
    assert health_checked == []
    assert connection.health_check_done


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_dropped_is_replaced_and_the_request_succeeds(api, health_checked):
    connection.ensure_connection()
    _new_request()
    assert post(api, "/api/v1/fills/", fill(1)).status_code == 201
    _terminate_backend()
    _new_request()
    response = post(api, "/api/v1/fills/", fill(2))
    assert response.status_code == 201, response.content
    assert health_checked == [False]  # asked once, after the token query failed
    assert sorted(Fill.objects.values_list("external_id", flat=True)) == ["f1", "f2"]


@pytest.mark.django_db(transaction=True)
def test_an_unknown_token_on_a_live_connection_is_a_401_not_a_reconnect(api, health_checked):
    connection.ensure_connection()
    _new_request()
    api.credentials(HTTP_AUTHORIZATION="Bearer tb_" + "0" * 43)
    response = post(api, "/api/v1/fills/", fill(1))
    assert response.status_code == 401
    assert health_checked == []


def _prepared_runs() -> dict[str, int]:
    """Statements prepared on our connection -> how many times each has run (plans used)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
        return dict(cursor.fetchall())


def _runs_of(prepared: dict[str, int], *fragments: str) -> list[int]:
    return [runs for statement, runs in prepared.items() if all(f in statement for f in fragments)]


@pytest.mark.django_db(transaction=True)
def test_the_write_paths_statements_are_prepared_once_per_connection(api):
    # Django turns psycopg's preparing off by default, and then `prepare=True` is silently
    # ignored: every request would parse and plan each statement again (a third of the
    # database's work per single-fill request, measured).
    for n in range(1, 4):
        assert post(api, "/api/v1/fills/", fill(n)).status_code == 201
    prepared = _prepared_runs()
    assert _runs_of(prepared, '"accounts_apitoken"') == [3]  # the token query
    assert _runs_of(prepared, 'INSERT INTO "trades_fill"') == [3]
    assert _runs_of(prepared, 'INSERT INTO "trades_event"') == [3]  # the journal
    # The books' lock: twice on the first request, which creates the symbol's state between.
    assert _runs_of(prepared, '"trades_positionstate"', "FOR UPDATE") == [4]


@pytest.mark.django_db(transaction=True)
def test_with_preparing_off_the_write_path_runs_unprepared(api, monkeypatch):
    # DB_PREPARED_STATEMENTS=false (a pooler that cannot keep prepared statements) leaves
    # psycopg's threshold at None: the same requests, nothing prepared.
    connection.ensure_connection()
    monkeypatch.setattr(connection.connection, "prepare_threshold", None)
    for n in range(1, 3):
        assert post(api, "/api/v1/fills/", fill(n)).status_code == 201
    assert post(api, "/api/v1/fills/", fill(1)).json()["counts"]["duplicate"] == 1
    assert _prepared_runs() == {}
    assert Fill.objects.count() == 2
