"""A bot's database, opened read-only: an SQLite file or a PostgreSQL database.

SQLite files are opened `file:…?mode=ro`: the bot's file is never written (freqtrade
keeps its database in WAL mode, where a reader does not block the bot's writes). A
PostgreSQL database is read in READ ONLY, REPEATABLE READ transactions: what one read
returns is one consistent state of the bot's tables, and nothing can be written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row

from core.errors import TradebookError

SQLITE, POSTGRESQL = "sqlite", "postgresql"
POSTGRES_SCHEMES = ("postgresql", "postgres")
# How long a read waits for the bot's lock (SQLite) or a connection (PostgreSQL), in seconds.
WAIT = 10


class StoreError(Exception):
    """The store cannot be read (missing, not a database of that kind, refused): said plainly."""


def normalized_url(url: str, *, base: Path | None = None) -> str:
    """The URL as a source keeps it: `sqlite:///<absolute path>` for a file (relative paths are
    resolved now: the worker that reads it runs elsewhere), `postgresql://…` for PostgreSQL
    (a SQLAlchemy driver suffix such as `+psycopg2`, as freqtrade's `db_url` may have, dropped)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if not scheme:
        return f"sqlite:///{(base or Path.cwd()).joinpath(url).resolve()}"
    if scheme.split("+", 1)[0] == "sqlite":
        path = url.split("://", 1)[1]
        if path.startswith("/"):
            path = path[1:]  # sqlite:///relative, sqlite:////absolute (SQLAlchemy's form)
        if not path:
            raise TradebookError("an SQLite URL needs a file: sqlite:///path/to/tradesv3.sqlite")
        return f"sqlite:///{(base or Path.cwd()).joinpath(path).resolve()}"
    if scheme.split("+", 1)[0] in POSTGRES_SCHEMES:
        parts = urlsplit(url)
        return urlunsplit(("postgresql", *parts[1:]))
    raise TradebookError(f"{url!r}: a source database is sqlite:///path or postgresql://…")


def shown_url(url: str) -> str:
    """The URL without its password, for lists, logs and errors."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit((parts.scheme, netloc, *parts[2:]))


class StoreDatabase:
    """One read-only connection to a bot's database. `read()` is one read transaction."""

    def __init__(self, url: str):
        self.url = normalized_url(url)
        self.vendor = SQLITE if self.url.startswith("sqlite:") else POSTGRESQL
        self.where = shown_url(self.url)
        self._conn = None

    def __enter__(self) -> StoreDatabase:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def path(self) -> Path:
        return Path(self.url.split(":///", 1)[1])

    def open(self) -> None:
        if self._conn is not None:
            return
        if self.vendor == SQLITE:
            path = self.path
            if not path.is_file():
                raise StoreError(f"{path}: no such file")
            try:
                # mode=ro: SQLite refuses every write; isolation_level=None: our own BEGIN/COMMIT.
                self._conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=WAIT,
                                             isolation_level=None, check_same_thread=False)
            except sqlite3.Error as exc:
                raise StoreError(f"{path}: cannot open: {exc}")
            self._conn.row_factory = _dict_factory
        else:
            try:
                self._conn = psycopg.connect(self.url, autocommit=True, row_factory=dict_row, connect_timeout=WAIT)
            except psycopg.Error as exc:
                raise StoreError(f"{self.where}: cannot connect: {str(exc).strip()}")
            self._conn.read_only = True
            self._conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def read(self) -> Iterator[Reader]:
        """One read transaction: every query in it sees the same state of the bot's database."""
        self.open()
        try:
            if self.vendor == SQLITE:
                self._conn.execute("BEGIN")
                try:
                    yield Reader(self)
                finally:
                    self._conn.execute("COMMIT")  # a read-only transaction: nothing to keep or lose
            else:
                with self._conn.transaction():
                    yield Reader(self)
        except (sqlite3.Error, psycopg.Error) as exc:
            raise StoreError(f"{self.where}: {str(exc).strip()}")


class Reader:
    """Queries inside one read transaction. SQL is written with `?` placeholders and
    double-quoted identifiers, which both databases take (psycopg's `%s` is substituted)."""

    def __init__(self, db: StoreDatabase):
        self.db = db

    def rows(self, sql: str, params: Sequence = ()) -> list[dict]:
        return list(self.stream(sql, params))

    def stream(self, sql: str, params: Sequence = (), *, size: int = 5000) -> Iterator[dict]:
        conn = self.db._conn
        if self.db.vendor == SQLITE:
            cursor = conn.execute(sql, tuple(params))
        else:
            cursor = conn.cursor()
            cursor.execute(sql.replace("?", "%s"), tuple(params))
        while True:
            chunk = cursor.fetchmany(size)
            if not chunk:
                break
            yield from chunk

    def value(self, sql: str, params: Sequence = ()):
        row = next(iter(self.rows(sql, params)), None)
        return None if row is None else next(iter(row.values()))

    def tables(self) -> set[str]:
        if self.db.vendor == SQLITE:
            return {r["name"] for r in self.rows("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {r["table_name"] for r in self.rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}

    def columns(self, table: str) -> set[str]:
        if self.db.vendor == SQLITE:
            return {r["name"] for r in self.rows(f'PRAGMA table_info("{table}")')}
        return {r["column_name"] for r in self.rows(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ?", (table,))}


def _dict_factory(cursor: sqlite3.Cursor, row: tuple) -> dict:
    return {d[0]: v for d, v in zip(cursor.description, row, strict=True)}


def in_list(values: Sequence) -> str:
    """`(?, ?, …)` for an IN over `values` (callers chunk long lists)."""
    return "(" + ", ".join("?" * len(values)) + ")"
