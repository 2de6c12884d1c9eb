"""SPEC 4.4: a database that is away answers 503 with Retry-After and the JSON error — never a 500 —
wherever the request meets it (authentication, the write, a view outside DRF, Django's error
handler); writers that keep colliding answer 503 once the request's retries are spent; nothing
of the request is written."""

import json
from unittest import mock

import psycopg
import pytest
from django.contrib.auth.models import User
from django.db import OperationalError, connection
from django.test import RequestFactory

from core.sql.faults import BUSY_MESSAGES
from tests.api.write_helpers import fill, post
from trades.api.errors import server_error
from trades.ingest import lifecycle, service
from trades.models import Event, Fill

pytestmark = pytest.mark.django_db

UNAVAILABLE = {"errors": [{"index": None, "field": None, "message": BUSY_MESSAGES["unavailable"]}]}
CONTENTION = {"errors": [{"index": None, "field": None, "message": BUSY_MESSAGES["contention"]}]}


def database_error(state: str | None, text: str = "server closed the connection unexpectedly"):
    """What Django raises for a driver error: its OperationalError, psycopg's error as the cause."""
    cause = psycopg.errors.lookup(state)(text) if state else psycopg.OperationalError(text)
    error = OperationalError(text)
    error.__cause__ = cause
    return error


def assert_unavailable(response, body=UNAVAILABLE):
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == body


@pytest.mark.parametrize("state", ["57P01", "57P03", "08006", None])
def test_a_database_gone_when_the_token_is_read_is_a_503(api, charlie_api, state):
    with mock.patch("accounts.scope.run_prepared", side_effect=database_error(state)):
        response = post(api, "/api/v1/fills/", fill(1))
    assert_unavailable(response)
    assert Fill.objects.count() == 0
    # And once it is back the same request is applied, exactly once.
    assert post(api, "/api/v1/fills/", fill(1)).status_code == 201
    assert post(api, "/api/v1/fills/", fill(1)).json()["counts"] == {"created": 0, "duplicate": 1, "updated": 0}


def test_a_connection_lost_in_the_middle_of_a_write_leaves_nothing_and_is_a_503(api, account):
    real_lock = service.books.lock_for_fills

    def lost(**kwargs):
        real_lock(**kwargs)  # the fills are inserted by now: the transaction must take them back
        raise database_error("57P01", "terminating connection due to administrator command")

    with mock.patch("trades.ingest.service.books.lock_for_fills", side_effect=lost):
        response = post(api, "/api/v1/fills/", [fill(1), fill(2)])
    assert_unavailable(response)
    assert Fill.objects.count() == 0
    assert Event.objects.count() == 0


def test_a_read_meeting_a_database_gone_is_a_503(api, account):
    with mock.patch("trades.api.read.ScopedList.get_queryset", side_effect=database_error("08003")):
        response = api.get("/api/v1/fills/")
    assert_unavailable(response)


@pytest.mark.django_db(transaction=True)  # the request's transaction is the outermost one: it may run again
def test_a_deadlock_is_run_again_inside_the_request(api, account):
    real_write = service._write
    calls = []

    def deadlock_once(request):
        calls.append(1)
        if len(calls) == 1:
            raise database_error("40P01", "deadlock detected")
        return real_write(request)

    with mock.patch("trades.ingest.service._write", side_effect=deadlock_once):
        response = post(api, "/api/v1/fills/", fill(1))
    assert response.status_code == 201
    assert response.json()["counts"] == {"created": 1, "duplicate": 0, "updated": 0}
    assert len(calls) == 2
    assert Fill.objects.count() == 1


@pytest.mark.parametrize("raised", [lambda: database_error("40P01", "deadlock detected"),
                                    lambda: database_error("40001", "could not serialize access"),
                                    lambda: lifecycle.RetryRequest("orders created concurrently")])
@pytest.mark.django_db(transaction=True)
def test_collisions_past_the_retries_are_a_503_not_a_500_nor_a_409(api, account, raised):
    calls = []

    def always(request):
        calls.append(1)
        raise raised()

    with mock.patch("trades.ingest.service._write", side_effect=always):
        response = post(api, "/api/v1/fills/", fill(1))
    assert_unavailable(response, CONTENTION)
    assert len(calls) == service.MAX_ATTEMPTS
    assert Fill.objects.count() == 0


def test_an_error_that_is_not_the_databases_state_is_still_a_500(api, account):
    api.raise_request_exception = False
    with mock.patch("trades.ingest.service._write", side_effect=OperationalError("no such table: trades_fill")):
        response = post(api, "/api/v1/fills/", fill(1))
    assert response.status_code == 500
    assert "Retry-After" not in response


def test_a_view_outside_drf_meeting_a_database_gone_is_a_503(client):
    """The admin reads the session from the database: the middleware answers, in plain text there."""
    user = User.objects.create_user("staff", password="pw", is_staff=True, is_superuser=True)
    client.force_login(user)
    with mock.patch("django.contrib.sessions.backends.db.SessionStore.load", side_effect=database_error(None)):
        response = client.get("/admin/")
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == "the database is unavailable; try again in a few seconds.\n"


def test_djangos_error_handler_answers_503_for_a_database_gone():
    """An exception from a middleware reaches handler500 without any view's handler: it says 503 too."""
    request = RequestFactory().post("/api/v1/fills/")
    try:
        raise database_error("57P02", "terminating connection because of crash of another server process")
    except OperationalError:
        response = server_error(request)
    assert_unavailable(response)
    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error(request)
    assert response.status_code == 500


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_terminate_backend is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_connection_really_terminated_mid_request_is_a_503_and_the_request_sent_again_applies(api, account):
    """The request's own connection is ended by the server (pg_terminate_backend from another one),
    after the fills were inserted and before the commit."""
    params = connection.get_connection_params()
    real_lock = service.books.lock_for_fills

    def terminated(**kwargs):
        pending = real_lock(**kwargs)
        pid = connection.connection.info.backend_pid
        with psycopg.connect(**params, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
        return pending

    with mock.patch("trades.ingest.service.books.lock_for_fills", side_effect=terminated):
        response = post(api, "/api/v1/fills/", [fill(1), fill(2)])
    assert_unavailable(response)
    assert Fill.objects.count() == 0
    response = post(api, "/api/v1/fills/", [fill(1), fill(2)])
    assert response.status_code == 201
    assert response.json()["counts"] == {"created": 2, "duplicate": 0, "updated": 0}
