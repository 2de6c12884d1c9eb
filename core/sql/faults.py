"""What a database error means for the request that met it: the database is away (answer 503, the
request may be sent again), two writers collided (run the request again), or anything else (a bug).

Django raises driver errors as its own (OperationalError, InterfaceError…) with the driver's
error as `__cause__`; PostgreSQL's SQLSTATE is on that cause (psycopg's `sqlstate`). SQLite has
no SQLSTATE: its one transient error is "database is locked" (a writer waited past its timeout).
"""

from __future__ import annotations

import psycopg
from django.db import InterfaceError, OperationalError

DEADLOCK = "40P01"
SERIALIZATION_FAILURE = "40001"
COLLISIONS = {DEADLOCK, SERIALIZATION_FAILURE}

# The server is not there for this request. Class 08: the connection (refused, lost, never made);
# 57P01/57P02/57P03: terminated by a shutdown (fast or immediate) or not accepting connections yet
# (starting up, in recovery, shutting down); 57014: a statement cancelled — by a shutdown, or by
# statement_timeout on an overloaded server, which a later attempt may not meet either; class 53:
# out of connections, memory or disk (53300 too_many_connections is what a restart storm meets).
UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03", "57014"}
UNAVAILABLE_CLASSES = ("08", "53")

# psycopg raises a lost or refused connection as OperationalError without a SQLSTATE and says so in
# its text; these are the texts (lowercase) that mean "no server", from libpq and psycopg.
UNAVAILABLE_TEXTS = (
    "server closed the connection unexpectedly",
    "connection refused",
    "connection is lost",
    "connection is closed",
    "connection already closed",
    "consuming input failed",
    "sending query failed",
    "could not receive data from server",
    "could not send data to server",
    "no connection to the server",
    "terminating connection",
    "the database system is starting up",
    "the database system is in recovery mode",
    "the database system is shutting down",
    "the database system is not yet accepting connections",
    "the database system is not accepting connections",
    "connection timeout expired",
    "timeout expired",
    "ssl syscall error",
    "connection failed",
)
SQLITE_LOCKED = "database is locked"

# What a 503 says, per `busy_reason`: that nothing was applied, and to send the request again.
BUSY_MESSAGES = {
    "unavailable": "the database is unavailable; the request was not applied, send it again in a few seconds "
                   "(sending a write again is always safe: what is stored already is answered as a duplicate)",
    "contention": "concurrent writes of the same items kept colliding in the database; the request was not "
                  "applied, send it again (sending a write again is always safe)",
}


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (Django's or the driver's), None where there is none."""
    for error in (exc, exc.__cause__):
        state = getattr(error, "sqlstate", None)
        if state:
            return state
    return None


def is_collision(exc: BaseException) -> bool:
    """A deadlock or a serialization failure (or SQLite's lock timeout): the request, run again
    from the start, can succeed."""
    if sqlstate(exc) in COLLISIONS:
        return True
    return isinstance(exc, OperationalError) and SQLITE_LOCKED in str(exc)


def is_unavailable(exc: BaseException) -> bool:
    """The database is away (refused, lost, shutting down, restarting, out of connections): nothing
    of the request was applied by this attempt's transaction, and the same request sent again
    later is safe (SPEC 4.1 rule 2)."""
    if not isinstance(exc, OperationalError | InterfaceError | psycopg.OperationalError | psycopg.InterfaceError):
        return False
    state = sqlstate(exc)
    if state is not None:
        return state in UNAVAILABLE_SQLSTATES or state.startswith(UNAVAILABLE_CLASSES)
    if isinstance(exc, InterfaceError | psycopg.InterfaceError):
        return True  # the connection object is closed or broken: never a statement's own fault
    text = " ".join(str(error) for error in (exc, exc.__cause__) if error is not None).lower()
    return any(phrase in text for phrase in UNAVAILABLE_TEXTS)


def busy_reason(exc: BaseException) -> str | None:
    """Why a request that failed with `exc` is answered 503 (send it again later): "unavailable"
    (the database is away) or "contention" (collisions past the request's retries); None for an
    error that is not the database's state but a fault of the request or the code."""
    if is_unavailable(exc):
        return "unavailable"
    if is_collision(exc):
        return "contention"
    return None
