import pytest
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.tokens import digest, issue_token, revoke_token
from core.errors import TradebookError
from tests.factories import make_account


@pytest.mark.django_db
def test_it_never_stores_the_token_in_plain_text():
    account = make_account()
    token, secret = issue_token(name="bot-1", account_slugs=[account.slug])
    assert secret.startswith("tb_") and len(secret) > 40
    row = ApiToken.objects.get(pk=token.pk)
    stored = [str(getattr(row, f.attname)) for f in ApiToken._meta.concrete_fields]
    assert all(secret not in value for value in stored)
    assert row.digest == digest(secret)
    assert secret.startswith(row.prefix)


@pytest.mark.django_db
def test_each_token_is_different():
    account = make_account()
    secrets = {issue_token(name=f"t{i}", account_slugs=[account.slug])[1] for i in range(5)}
    assert len(secrets) == 5


@pytest.mark.django_db
def test_a_revoked_token_no_longer_authenticates():
    account = make_account()
    _token, secret = issue_token(name="bot-1", account_slugs=[account.slug])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/accounts/").status_code != 401
    revoke_token(name="bot-1")
    response = client.get("/api/v1/accounts/")
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"]


@pytest.mark.django_db
def test_it_accepts_the_token_keyword_too():
    account = make_account()
    _token, secret = issue_token(name="bot-1", account_slugs=[account.slug])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert client.get("/api/v1/accounts/").status_code != 401
    client.credentials(HTTP_AUTHORIZATION="Bearer tb_wrong")
    assert client.get("/api/v1/accounts/").status_code == 401
    client.credentials()
    assert client.get("/api/v1/accounts/").status_code == 401


@pytest.mark.django_db
def test_token_names_are_unique_and_accounts_must_exist():
    account = make_account()
    issue_token(name="bot-1", account_slugs=[account.slug])
    with pytest.raises(TradebookError, match="exists already"):
        issue_token(name="bot-1", account_slugs=[account.slug])
    with pytest.raises(TradebookError, match="no account with slug nope"):
        issue_token(name="bot-2", account_slugs=["nope"])


@pytest.mark.django_db
def test_last_used_at_is_set_by_a_write_and_never_by_a_read():
    account = make_account()
    token, secret = issue_token(name="bot-1", account_slugs=[account.slug])
    assert token.last_used_at is None
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/accounts/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is None  # a read writes nothing
    mark = {"symbol": "BTCUSDT", "price": "1", "ts": "2026-01-01T00:00:00Z"}
    assert client.post("/api/v1/marks/", mark, format="json").status_code == 201
    token.refresh_from_db()
    assert token.last_used_at is not None
