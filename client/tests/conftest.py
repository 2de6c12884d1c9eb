"""Fixtures: one real tradebook (gunicorn on a PostgreSQL database of this run's own) for the
whole run, a fresh account and token per test that writes, and a proxy that loses answers
or answers 429/503 in tradebook's place."""

from __future__ import annotations

import os
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

HERE = Path(__file__).resolve().parent
# The client under test is this checkout's, installed or not.
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from faulty_proxy import FaultyProxy  # noqa: E402
from tradebook_server import Tradebook  # noqa: E402


class Account:
    """An account of its own for one test, with a token scoped to it."""

    def __init__(self, server: Tradebook, slug: str, token: str) -> None:
        self.server = server
        self.slug = slug
        self.token = token

    @property
    def url(self) -> str:
        return self.server.url

    def fills(self, **params: str) -> List[Dict[str, str]]:
        """Every fill of the account, read straight from the API (not through the client)."""
        return self._every_page("/api/v1/fills/", params)

    def events(self, **params: str) -> List[Dict[str, object]]:
        return self._every_page("/api/v1/events/", params)

    def _every_page(self, list_path: str, params: Dict[str, str]) -> List[Dict[str, object]]:
        query = "&".join(f"{k}={v}" for k, v in {"page_size": "1000", **params}.items())
        path: Optional[str] = f"{list_path}?{query}"
        rows: List[Dict[str, object]] = []
        while path:
            page = self.server.get(path, self.token)
            rows.extend(page["results"])
            link = page.get("next")
            path = link[link.index("/api/"):] if link else None
        return rows


@pytest.fixture(scope="package")  # one server for the whole directory of tests
def tradebook() -> Iterator[Tradebook]:
    server = Tradebook(f"client_tests_{os.getpid()}")
    try:
        server.create()
        server.start()
        yield server
    finally:
        server.destroy()  # the database too, even when the server never came up


@pytest.fixture
def running(tradebook: Tradebook) -> Tradebook:
    """The server, started again if a test before left it stopped (or it died): one test's
    failure must not leave the next ones retrying against nothing until they time out."""
    if not tradebook.healthy():
        tradebook.stop()
        try:
            tradebook.start()
        except RuntimeError as exc:
            pytest.fail(f"tradebook does not start: {exc}", pytrace=False)
    return tradebook


_spare: List[Account] = []


@pytest.fixture
def account(running: Tradebook) -> Account:
    """An account of its own for the test (made ten at a time: a Django start costs seconds)."""
    if not _spare:
        slugs = ["t-" + uuid.uuid4().hex[:10] for _ in range(10)]
        _spare.extend(Account(running, slug, token) for slug, token in running.accounts(slugs).items())
    return _spare.pop()


@pytest.fixture
def proxy(running: Tradebook) -> Iterator[FaultyProxy]:
    with FaultyProxy(running.url) as faulty:
        yield faulty


@pytest.fixture
def spool(tmp_path: Path) -> str:
    return str(tmp_path / "bot.sqlite")


def total(rows: List[Dict[str, str]], field: str) -> Decimal:
    return sum((Decimal(row[field]) for row in rows), Decimal(0))
