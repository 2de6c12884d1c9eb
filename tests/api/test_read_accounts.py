"""GET /api/v1/accounts/ and /accounts/{slug}/: only the token's accounts."""

import pytest

from accounts.models import Bot
from tests.conftest import client_for
from tests.factories import make_account

pytestmark = pytest.mark.django_db


def test_it_lists_the_tokens_accounts(account, other_account):
    bravo = make_account("bravo", kind="testnet", cost_basis="fifo")
    Bot.objects.create(account=bravo, key="testnet:ETH")
    body = client_for(account, bravo).get("/api/v1/accounts/").json()
    assert sorted(a["slug"] for a in body["results"]) == ["alpha", "bravo"]
    row = next(a for a in body["results"] if a["slug"] == "bravo")
    assert row["kind"] == "testnet" and row["cost_basis"] == "fifo" and row["initial_capital"] == "10000"
    assert row["bots"] == ["testnet:ETH"]


def test_account_detail(api, account):
    body = api.get("/api/v1/accounts/alpha/").json()
    assert body["slug"] == "alpha" and body["name"] == "Alpha" and body["base_currency"] == "USDT"
    assert api.get("/api/v1/accounts/nobody/").status_code == 404


def test_charlie_sees_only_charlie(charlie_api, account, other_account):
    assert [a["slug"] for a in charlie_api.get("/api/v1/accounts/").json()["results"]] == ["charlie"]
    assert charlie_api.get("/api/v1/accounts/alpha/").status_code == 404
