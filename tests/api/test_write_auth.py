"""Bot authentication on the write API (SPEC 4): Bearer/Token, revoked tokens, last_used_at."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.tokens import revoke_token
from tests.api.write_helpers import fill, post
from tests.factories import make_token
from trades.api import auth
from trades.models import Event, Fill


def _client(header: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("keyword", ["Bearer", "Token", "bearer"])
def test_bearer_and_token_headers_are_accepted(account, keyword):
    _token, secret = make_token(account)
    assert post(_client(f"{keyword} {secret}"), "/api/v1/fills/", fill(1)).status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["", "Bearer", "Bearer tb_wrong", "Basic dXNlcjpwYXNz", "Bearer a b"])
def test_missing_or_bad_credentials_are_401_and_write_nothing(account, header):
    response = post(_client(header), "/api/v1/fills/", fill(1))
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"]
    assert Fill.objects.count() == 0 and Event.objects.count() == 0


@pytest.mark.django_db
def test_a_revoked_token_is_401(account):
    token, secret = make_token(account)
    revoke_token(name=token.name)
    assert post(_client(f"Bearer {secret}"), "/api/v1/fills/", fill(1)).status_code == 401


@pytest.mark.django_db
def test_the_journal_names_the_token(account, api):
    post(api, "/api/v1/fills/", fill(1))
    assert Event.objects.get().token.digest == ApiToken.objects.get().digest


@pytest.mark.django_db
def test_last_used_at_is_written_at_most_once_a_minute(account, monkeypatch, charlie_api):
    token, secret = make_token(account)
    client = _client(f"Bearer {secret}")
    start = timezone.now()
    monkeypatch.setattr(auth.timezone, "now", lambda: start)
    post(client, "/api/v1/fills/", fill(1))
    token.refresh_from_db()
    assert token.last_used_at == start
    monkeypatch.setattr(auth.timezone, "now", lambda: start + timedelta(seconds=30))
    post(client, "/api/v1/fills/", fill(2))
    token.refresh_from_db()
    assert token.last_used_at == start
    later = start + timedelta(seconds=61)
    monkeypatch.setattr(auth.timezone, "now", lambda: later)
    post(client, "/api/v1/fills/", fill(3))
    token.refresh_from_db()
    assert token.last_used_at == later
    # Charlie's use does not touch alpha's token.
    post(charlie_api, "/api/v1/fills/", fill(1))
    token.refresh_from_db()
    assert token.last_used_at == later
