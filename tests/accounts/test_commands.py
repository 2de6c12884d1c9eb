from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from accounts.models import Account, ApiToken
from accounts.tokens import digest


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_create_account_makes_the_account():
    out = run("create_account", "--slug", "bybit-main", "--name", "Bybit", "--exchange", "bybit", "--kind", "live",
              "--base-currency", "usdt", "--initial-capital", "10000.5", "--cost-basis", "fifo")
    account = Account.objects.get(slug="bybit-main")
    assert (account.kind, account.base_currency, account.cost_basis) == ("live", "USDT", "fifo")
    assert str(account.initial_capital.normalize()) == "10000.5"
    assert "bybit-main" in out


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args, message",
    [
        (["--slug", "Bad Slug"], "slug"),
        (["--initial-capital", "ten"], "initial capital"),
        (["--initial-capital", "-5"], "negative"),
        (["--initial-capital", "1e30"], "too large"),
    ],
)
def test_create_account_names_the_bad_input(args, message):
    base = {"--slug": "ok", "--name": "N", "--exchange": "bybit"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    flat = [x for pair in base.items() for x in pair]
    with pytest.raises(CommandError, match=message):
        run("create_account", *flat)
    assert not Account.objects.exists()


@pytest.mark.django_db
def test_create_account_refuses_a_duplicate_slug():
    run("create_account", "--slug", "a", "--name", "A", "--exchange", "bybit")
    with pytest.raises(CommandError, match="exists already"):
        run("create_account", "--slug", "a", "--name", "A2", "--exchange", "bybit")


@pytest.mark.django_db
def test_create_account_refuses_an_unknown_kind():
    with pytest.raises(CommandError, match="kind"):
        run("create_account", "--slug", "a", "--name", "A", "--exchange", "bybit", "--kind", "demo")


@pytest.mark.django_db
def test_issue_token_prints_the_token_alone_on_the_last_line():
    run("create_account", "--slug", "a", "--name", "A", "--exchange", "bybit")
    run("create_account", "--slug", "b", "--name", "B", "--exchange", "bybit")
    out = run("issue_token", "--account", "a", "--account", "b", "--name", "paper:BTCUSD")
    last = out.strip().splitlines()[-1]
    assert last.startswith("tb_") and " " not in last
    token = ApiToken.objects.get(name="paper:BTCUSD")
    assert token.digest == digest(last)
    assert sorted(token.accounts.values_list("slug", flat=True)) == ["a", "b"]


@pytest.mark.django_db
def test_issue_token_errors_are_clear():
    run("create_account", "--slug", "a", "--name", "A", "--exchange", "bybit")
    with pytest.raises(CommandError, match=r"^No account 'zzz'\.$"):
        run("issue_token", "--account", "zzz", "--name", "x")
    run("issue_token", "--account", "a", "--name", "x")
    with pytest.raises(CommandError, match="exists already"):
        run("issue_token", "--account", "a", "--name", "x")


@pytest.mark.django_db
def test_revoke_token_revokes_and_names_unknown_tokens():
    run("create_account", "--slug", "a", "--name", "A", "--exchange", "bybit")
    run("issue_token", "--account", "a", "--name", "x")
    assert "Revoked" in run("revoke_token", "--name", "x")
    assert ApiToken.objects.get(name="x").revoked_at is not None
    with pytest.raises(CommandError, match="no token named 'nope'"):
        run("revoke_token", "--name", "nope")


@pytest.mark.django_db
def test_grant_access_adds_a_member():
    run("create_account", "--slug", "a", "--name", "A", "--exchange", "bybit")
    user = get_user_model().objects.create_user("ann", is_staff=True)
    run("grant_access", "--account", "a", "--user", "ann")
    assert list(Account.objects.get(slug="a").members.all()) == [user]
    with pytest.raises(CommandError, match=r"^No user 'bob': create it first"):
        run("grant_access", "--account", "a", "--user", "bob")
    with pytest.raises(CommandError, match=r"^No account 'b'\.$"):
        run("grant_access", "--account", "b", "--user", "ann")
