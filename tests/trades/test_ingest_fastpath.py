"""The write path's shortcuts keep its results: columns sent once, the one-query auth, remembered bots."""

import re
from decimal import Decimal

import pytest
from django.db import connection

from core.exact_json import loads_exact
from tests.factories import make_account, make_token
from trades.ingest import bots, record
from trades.models import Event, Fill


def fill(n: int, **fields) -> dict:
    item = {"id": f"f{n}", "symbol": "BTCUSDT", "side": "buy", "price": "100", "quantity": "1",
            "executed_at": 1767225600000 + n * 1000}
    item.update(fields)
    return item


def raw_texts(account) -> list[str]:
    """The journal's raw items as the database holds them (not through json.loads)."""
    table = connection.ops.quote_name(Event._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT raw FROM {table} WHERE account_id = %s ORDER BY id", [account.pk])
        return [value if isinstance(value, str) else value.decode() for (value,) in cursor.fetchall()]


@pytest.mark.django_db
def test_identical_items_are_journaled_once_each(account):
    result = record(accounts=[account], items=[{"type": "log", "message": "same"}] * 3, item_type=None)
    assert result.counts["created"] == 3
    assert len({r["id"] for r in result.results}) == 3
    assert Event.objects.filter(account=account).count() == 3


@pytest.mark.django_db
def test_raw_numbers_keep_their_digits_when_every_other_column_is_equal(account):
    # 1.0 and 1.00 are equal Decimals (and equal dicts): the journal must still keep each as posted.
    items = loads_exact('[{"type": "log", "message": "m", "v": 1.0}, {"type": "log", "message": "m", "v": 1.00}, '
                        '{"type": "log", "message": "m", "v": 1.0}]')
    record(accounts=[account], items=items, item_type=None)
    numbers = [re.search(r'"v": ?([0-9.]+)', text).group(1) for text in raw_texts(account)]
    assert numbers == ["1.0", "1.00", "1.0"]


@pytest.mark.django_db
def test_a_column_equal_in_all_rows_but_one_stores_each_rows_value(account):
    items = [fill(n, fee="0.1", fee_currency="USDT", bot="paper:a") for n in range(5)]
    items[3].update(fee="0.25", fee_currency="BNB", bot="paper:b", price="101.5")
    record(accounts=[account], items=items, item_type="fill")
    rows = {f.external_id: (f.fee, f.fee_currency, f.bot.key, f.price) for f in Fill.objects.filter(account=account)}
    assert rows["f3"] == (Decimal("0.25"), "BNB", "paper:b", Decimal("101.5"))
    assert {k: v for k, v in rows.items() if k != "f3"} == {
        f"f{n}": (Decimal("0.1"), "USDT", "paper:a", Decimal("100")) for n in (0, 1, 2, 4)}


@pytest.mark.django_db
def test_json_columns_empty_in_every_row_or_in_all_but_one_store_each_rows_value(account):
    plain = [fill(n) for n in range(3)]  # every fill: no further fees, no unknown fields
    mixed = [fill(n) for n in range(10, 14)]
    mixed[2].update(fees=[{"amount": "0.1", "currency": "USDT"}, {"amount": "0.020", "currency": "BNB"}],
                    note={"why": Decimal("1.50")})
    record(accounts=[account], items=plain + mixed, item_type="fill")
    rows = {f.external_id: (f.other_fees, f.meta) for f in Fill.objects.filter(account=account)}
    assert rows.pop("f12") == ([{"amount": "0.02", "currency": "BNB"}], {"note": {"why": Decimal("1.50")}})
    assert rows == {key: ([], {}) for key in ("f0", "f1", "f2", "f10", "f11", "f13")}


@pytest.mark.django_db
def test_a_single_item_and_its_replay_round_trip(account):
    first = record(accounts=[account], items=[fill(1, price="123.456789012345678901")], item_type="fill")
    again = record(accounts=[account], items=[fill(1, price="123.456789012345678901")], item_type="fill")
    assert (first.counts["created"], again.counts["duplicate"]) == (1, 1)
    assert Fill.objects.get(account=account).price == Decimal("123.456789012345678901")


@pytest.mark.django_db
def test_auth_gives_the_tokens_accounts_and_nothing_for_a_revoked_token(client, account, other_account):
    from accounts.tokens import revoke_token

    third = make_account(slug="bravo")
    token, secret = make_token(account, third)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    body = '{"id": "x1", "symbol": "BTCUSDT", "side": "buy", "price": "1", "quantity": "1", "executed_at": 1767225600000}'
    response = client.post("/api/v1/fills/", body, content_type="application/json", **headers)
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "account"
    response = client.post("/api/v1/fills/?account=bravo", body, content_type="application/json", **headers)
    assert response.status_code == 201 and Fill.objects.filter(account=third).count() == 1
    response = client.post("/api/v1/fills/?account=charlie", body, content_type="application/json", **headers)
    assert response.status_code == 404 and not Fill.objects.filter(account=other_account).exists()
    revoke_token(name=token.name)
    response = client.post("/api/v1/fills/?account=bravo", body, content_type="application/json", **headers)
    assert response.status_code == 401


def test_a_bot_id_is_remembered_only_once_its_transaction_commits(account, django_capture_on_commit_callbacks):
    from accounts.models import Bot

    bots.forget_bots()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record(accounts=[account], items=[fill(1, bot="paper:BTCUSD")], item_type="fill")
    assert (account.pk, "paper:BTCUSD") not in bots._KNOWN_BOTS  # not committed yet
    for callback in callbacks:
        callback()
    bot = Bot.objects.get(account=account, key="paper:BTCUSD")
    assert bots._KNOWN_BOTS[(account.pk, "paper:BTCUSD")] == bot.pk
    # Remembered: the next item is attributed to the same row, and a new bot is still created.
    record(accounts=[account], items=[fill(2, bot="paper:BTCUSD"), fill(3, bot="paper:ETHUSD")], item_type="fill")
    assert {f.external_id: f.bot.key for f in Fill.objects.filter(account=account)} == {
        "f1": "paper:BTCUSD", "f2": "paper:BTCUSD", "f3": "paper:ETHUSD"}
    bots.forget_bots()
