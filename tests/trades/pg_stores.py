"""Bots' databases on PostgreSQL for the tests: each test creates its own database and drops it.

A freqtrade database is moved there from freqtrade's own SQLite files (the same tables, with
PostgreSQL's types for freqtrade's columns, as freqtrade creates them there)."""

import os
import sqlite3
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

SERVER = os.environ.get("SOURCES_PG_SERVER", "postgresql://postgres@127.0.0.1:5432")
TYPES = {"DATETIME": "TIMESTAMP WITHOUT TIME ZONE", "FLOAT": "DOUBLE PRECISION", "DOUBLE": "DOUBLE PRECISION"}


def server_reachable() -> bool:
    try:
        psycopg.connect(f"{SERVER}/postgres", connect_timeout=3).close()
        return True
    except psycopg.Error:
        return False


needs_postgres = pytest.mark.skipif(not server_reachable(), reason=f"no PostgreSQL at {SERVER}")


@contextmanager
def pg_database(prefix: str):
    """A fresh database on the local server; its URL; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{SERVER}/{name}"
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def copy_sqlite_tables(sqlite_path: Path, url: str, tables=("trades", "orders"), *, create: bool = True) -> None:
    """Copy freqtrade's tables (schema and rows) from its SQLite file into the PostgreSQL database."""
    src = sqlite3.connect(f"file:{sqlite_path}?mode=ro&immutable=1", uri=True)
    try:
        with psycopg.connect(url) as dst:
            for table in tables:
                columns = src.execute(f'PRAGMA table_info("{table}")').fetchall()
                if create:
                    spec = ", ".join(f'"{c[1]}" {TYPES.get(c[2].upper(), c[2])}'
                                     f'{" PRIMARY KEY" if c[5] else ""}' for c in columns)
                    dst.execute(f'CREATE TABLE "{table}" ({spec})')
                booleans = {c[1] for c in columns if c[2].upper() == "BOOLEAN"}
                names = [c[1] for c in columns]
                rows = src.execute(f'SELECT * FROM "{table}" ORDER BY id').fetchall()
                dst.execute(f'DELETE FROM "{table}"')
                with dst.cursor() as cursor:
                    cursor.executemany(
                        f'INSERT INTO "{table}" ({", ".join(chr(34) + n + chr(34) for n in names)}) '
                        f'VALUES ({", ".join(["%s"] * len(names))})',
                        [[bool(v) if n in booleans and v is not None else v for n, v in zip(names, row, strict=True)]
                         for row in rows])
    finally:
        src.close()
