import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import make_account, make_token


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
