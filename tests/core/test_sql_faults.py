"""core.sql.faults: which database errors are the database being away (503), which are collisions
(run the request again), which are bugs (500)."""

import psycopg
import pytest
from django.db import DataError, IntegrityError, InterfaceError, OperationalError, ProgrammingError

from core.sql.faults import busy_reason, is_collision, is_unavailable, sqlstate


def wrapped(django_error, driver_error):
    """What Django raises: its own error, the driver's as the cause."""
    error = django_error(str(driver_error))
    error.__cause__ = driver_error
    return error


def with_sqlstate(state: str, text: str = "error") -> psycopg.Error:
    error_class = psycopg.errors.lookup(state)
    return error_class(text)


@pytest.mark.parametrize("state", ["08000", "08001", "08003", "08006", "57P01", "57P02", "57P03", "57014",
                                   "53300"])
def test_a_lost_or_refused_connection_or_a_shutdown_is_unavailable(state):
    error = wrapped(OperationalError, with_sqlstate(state))
    assert sqlstate(error) == state
    assert is_unavailable(error) is True
    assert busy_reason(error) == "unavailable"


@pytest.mark.parametrize("text", [
    "connection failed: connection to server at \"127.0.0.1\", port 5432 failed: Connection refused",
    "connection failed: FATAL:  the database system is starting up",
    "connection failed: FATAL:  the database system is not yet accepting connections",
    "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally",
    "consuming input failed: server closed the connection unexpectedly",
    "the connection is lost",
])
def test_the_driver_texts_without_a_sqlstate_are_unavailable(text):
    assert is_unavailable(wrapped(OperationalError, psycopg.OperationalError(text))) is True
    assert is_unavailable(psycopg.OperationalError(text)) is True


def test_a_closed_connection_object_is_unavailable():
    assert busy_reason(wrapped(InterfaceError, psycopg.InterfaceError("the connection is closed"))) == "unavailable"
    assert busy_reason(InterfaceError("connection already closed")) == "unavailable"


@pytest.mark.parametrize("state", ["40P01", "40001"])
def test_deadlocks_and_serialization_failures_are_collisions(state):
    error = wrapped(OperationalError, with_sqlstate(state))
    assert is_collision(error) is True
    assert is_unavailable(error) is False
    assert busy_reason(error) == "contention"


def test_sqlite_database_is_locked_is_a_collision():
    assert busy_reason(OperationalError("database is locked")) == "contention"


@pytest.mark.parametrize("error", [
    OperationalError("no such table: trades_fill"),  # SQLite: a missing migration is a bug
    wrapped(ProgrammingError, with_sqlstate("42P01", "relation does not exist")),
    wrapped(IntegrityError, with_sqlstate("23505", "duplicate key")),
    wrapped(DataError, with_sqlstate("22003", "numeric field overflow")),
    wrapped(OperationalError, with_sqlstate("54000", "program limit exceeded")),
    ValueError("connection refused"),  # not a database error, whatever it says
])
def test_other_errors_are_not_the_databases_state(error):
    assert busy_reason(error) is None
