from pathlib import Path

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import make_account, make_token

# The long suites: each folder's tests carry its mark and run only when the `-m` expression
# names it, so `bin/test` stays quick and CI runs each on its own (.ci/run).
LONG_SUITES = {
    "faults": "starts its own PostgreSQL cluster, gunicorn and Celery and kills them",
    "fuzz": "Hypothesis and Schemathesis fuzzing of the write doors",
    "browser": "the admin in headless Chromium against a real server",
}
HERE = Path(__file__).resolve().parent
_deselected: dict[str, int] = {}


def pytest_configure(config):
    for name, what in LONG_SUITES.items():
        config.addinivalue_line("markers", f"{name}: {what} (run with -m {name}; deselected otherwise)")


def pytest_collection_modifyitems(config, items):
    markexpr = config.getoption("markexpr", "") or ""
    for name in LONG_SUITES:
        folder = HERE / name
        ours = [item for item in items if folder in Path(str(item.path)).resolve().parents]
        for item in ours:  # a suite's folder is its mark: no test there can forget it
            item.add_marker(getattr(pytest.mark, name))
        if name in markexpr:
            continue  # the -m expression decides, as usual
        if ours:
            _deselected[name] = len(ours)
            config.hook.pytest_deselected(items=ours)
            items[:] = [item for item in items if item not in ours]


def pytest_terminal_summary(terminalreporter):
    for name, count in _deselected.items():
        terminalreporter.write_line(f"tests/{name}: {count} {name} tests deselected (run them with -m {name})")


@pytest.fixture(autouse=True)
def _no_rate_limit(monkeypatch):
    """The rate limit is what one test tests (it sets its own rate); the rest post as fast as they like.

    Counters live in the cache, keyed by token id, and SQLite reuses ids after a rollback: start clean.
    """
    from trades.api.auth import TokenRateThrottle

    monkeypatch.setattr(TokenRateThrottle, "rate", "1000000/s", raising=False)
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def account(db):
    return make_account("alpha", name="Alpha")


@pytest.fixture
def other_account(db):
    """Charlie's account: every API test checks it can neither see nor touch ours."""
    return make_account("charlie", name="Charlie")


def client_for(*accounts, name=None) -> APIClient:
    _token, secret = make_token(*accounts, name=name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    client.token_secret = secret
    return client


@pytest.fixture
def api(account):
    """A client whose token sees only `account`."""
    return client_for(account)


@pytest.fixture
def charlie_api(other_account):
    """A client whose token sees only `other_account`."""
    return client_for(other_account)
