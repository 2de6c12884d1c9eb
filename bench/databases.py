"""The benchmarks' PostgreSQL databases: made fresh, or kept between runs when loading them is
the long part (read, admin) — but never kept once the project's migrations no longer match
what the database went through (a migration it applied is gone from the code): then it is
made again, rather than migrated into a schema no fresh install has."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "trades", "snapshots")


def _split(url: str) -> tuple[str, str]:
    """(the server's maintenance database URL, the database's name)."""
    base, name = url.rsplit("/", 1)
    return f"{base}/postgres", name.split("?")[0]


def drop_database(url: str) -> None:
    server, name = _split(url)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def recreate_database(url: str) -> None:
    drop_database(url)
    server, name = _split(url)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def ensure_database(url: str) -> None:
    """The database as it is when the project's migrations still account for it, else new."""
    server, name = _split(url)
    with psycopg.connect(server, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if exists and _applied_but_gone(url):
        print(f"bench: {name} went through migrations the code no longer has: made again")
        exists = False
    if not exists:
        recreate_database(url)


def _applied_but_gone(url: str) -> bool:
    on_disk = {(app, path.stem) for app in APPS for path in (ROOT / app / "migrations").glob("[0-9]*.py")}
    with psycopg.connect(url) as conn:
        if not conn.execute("SELECT to_regclass('django_migrations')").fetchone()[0]:
            return False
        applied = conn.execute("SELECT app, name FROM django_migrations WHERE app = ANY(%s)", [list(APPS)]).fetchall()
    return any(tuple(row) not in on_disk for row in applied)


def use_kept_database(url: str) -> None:
    """Set Django up on this kept database (`ensure_database`), migrated. PostgreSQL only."""
    if not url.startswith("postgres"):
        raise SystemExit("bench: PostgreSQL only (DATABASE_URL=postgres://…)")
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradebook.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
