"""Statements of the hot path: prepared once per connection, sent without waiting (pipeline).

PostgreSQL only does anything special here; elsewhere these run on Django's cursor.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import psycopg
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections


def run_prepared(sql: str, params: Sequence, *, fetch: bool = True, checks_connection: bool = False) -> list[tuple]:
    """Run one statement of the hot path (written once, run on every request) and return its rows.

    PostgreSQL: prepared by psycopg on Django's own connection (same transaction), so the
    server parses and plans it once per connection, and with server-side binding (`%b`
    parameters are binary). Errors are Django's, as from any cursor. Elsewhere: Django's cursor.
    (psycopg prepares only under a prepare_threshold, which Django leaves off: the settings set
    one unless DB_PREPARED_STATEMENTS=false, and then these statements run unprepared.)

    `checks_connection`: this is a request's first statement, so it doubles as Django's health
    check (CONN_HEALTH_CHECKS) in place of its `SELECT 1`, one round trip fewer: if it fails on
    a persistent connection that is no longer usable, the connection is replaced and the
    statement run once more; once it has succeeded, Django knows the connection is alive.
    """
    db = connections[DEFAULT_DB_ALIAS]  # once: each `connection.x` is a lookup in a context-local
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if fetch else []
    if not (checks_connection and db.connection is not None and db.health_check_enabled
            and not db.health_check_done and not db.in_atomic_block):
        return _run_prepared_pg(db, sql, params, fetch)
    try:
        rows = _run_prepared_pg(db, sql, params, fetch)
    except DatabaseError:
        if db.is_usable():
            raise  # the statement failed, not the connection
        db.close()
        rows = _run_prepared_pg(db, sql, params, fetch)
    db.health_check_done = True
    return rows


def send_prepared(sql: str, params: Sequence) -> Callable[[], list[tuple]]:
    """`run_prepared` in two halves: the statement is sent now, on a cursor of its own, and the
    returned function reads its rows. Inside `pipelined()` the server runs it meanwhile;
    errors are Django's, raised by the read at the latest."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql" or db.connection is None or not db.connection.pgconn.pipeline_status:
        rows = run_prepared(sql, params)  # nothing to overlap with: run it now, on the kept cursor
        return lambda: rows
    cursor = psycopg.Cursor(db.connection)
    with db.wrap_database_errors:
        cursor.execute(sql, params, prepare=True)

    def fetch() -> list[tuple]:
        with db.wrap_database_errors, cursor:
            return cursor.fetchall()

    return fetch


@contextmanager
def pipelined(enabled: bool = True) -> Iterator[None]:
    """PostgreSQL's pipeline mode for the block: a statement sent by `send_prepared` (or
    `send_rows`) is not waited for, so the server works on it while Python prepares the next.
    Reading a result waits for it; leaving the block waits for all. Elsewhere: nothing."""
    db = connections[DEFAULT_DB_ALIAS]
    if not enabled or db.vendor != "postgresql":
        yield
        return
    db.ensure_connection()
    with db.wrap_database_errors, db.connection.pipeline():
        yield


def _run_prepared_pg(db, sql: str, params: Sequence, fetch: bool) -> list[tuple]:
    db.ensure_connection()
    # One cursor per connection, kept (a connection is one thread's): building a cursor costs
    # about a fifth of running a prepared statement on it (measured).
    cursor = getattr(db, "_tradebook_cursor", None)
    if cursor is None or cursor.connection is not db.connection or cursor.closed:
        cursor = db._tradebook_cursor = psycopg.Cursor(db.connection)
    with db.wrap_database_errors:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall() if fetch else []
