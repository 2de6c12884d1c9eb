"""Keyset pagination of the read API: newest first, capped pages, cursors stable under inserts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import T0, make_fill

pytestmark = pytest.mark.django_db


def ids(response) -> list[str]:
    return [row["id"] for row in response.json()["results"]]


def walk(api, url: str) -> list[str]:
    seen, pages = [], 0
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.content
        seen += ids(response)
        url = response.json()["next"]
        pages += 1
        assert pages < 100
    return seen


def test_it_lists_newest_first_with_next_and_previous(api, account):
    for n in range(5):
        make_fill(account, external_id=f"f{n}", executed_at=T0 + timedelta(minutes=n))
    first = api.get("/api/v1/fills/?page_size=2")
    body = first.json()
    assert ids(first) == ["f4", "f3"]
    assert body["previous"] is None and body["next"]
    second = api.get(body["next"])
    assert ids(second) == ["f2", "f1"]
    back = api.get(second.json()["previous"])
    assert ids(back) == ["f4", "f3"]
    assert back.json()["previous"] is None
    third = api.get(second.json()["next"])
    assert ids(third) == ["f0"]
    assert third.json()["next"] is None


def test_ties_on_the_time_are_neither_skipped_nor_repeated(api, account):
    # Bots post many fills of one millisecond: the cursor must key on (time, id), not time alone.
    for n in range(7):
        make_fill(account, external_id=f"same{n}", executed_at=T0)
    make_fill(account, external_id="older", executed_at=T0 - timedelta(seconds=1))
    seen = walk(api, "/api/v1/fills/?page_size=3")
    assert len(seen) == 8 and len(set(seen)) == 8
    assert seen[-1] == "older"


def test_pages_are_stable_when_newer_rows_arrive_meanwhile(api, account):
    for n in range(6):
        make_fill(account, external_id=f"f{n}", executed_at=T0 + timedelta(minutes=n))
    first = api.get("/api/v1/fills/?page_size=3").json()
    for n in range(3):
        make_fill(account, external_id=f"new{n}", executed_at=T0 + timedelta(hours=1, minutes=n))
    second = api.get(first["next"])
    assert ids(second) == ["f2", "f1", "f0"]


@override_settings(API_MAX_PAGE_SIZE=4, API_PAGE_SIZE=2)
def test_page_size_defaults_and_is_capped(api, account):
    for n in range(6):
        make_fill(account, executed_at=T0 + timedelta(minutes=n))
    assert len(api.get("/api/v1/fills/").json()["results"]) == 2
    assert len(api.get("/api/v1/fills/?page_size=1000").json()["results"]) == 4


@pytest.mark.parametrize("query", ["page_size=0", "page_size=x", "cursor=bm90LWEtY3Vyc29y", "cursor=%%%"])
def test_bad_page_size_or_cursor_is_a_400_naming_it(api, account, query):
    response = api.get(f"/api/v1/fills/?{query}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == query.split("=")[0]


def test_amounts_are_exact_strings_and_times_utc(api, account):
    make_fill(account, external_id="x", price=Decimal("12345678901234567.123456789012345678"),
              quantity=Decimal("0.000000000000000001"))
    row = api.get("/api/v1/fills/").json()["results"][0]
    assert row["price"] == "12345678901234567.123456789012345678"
    assert row["quantity"] == "0.000000000000000001"
    assert row["fee"] == "0"
    assert row["executed_at"].endswith("Z")


def test_charlie_pages_through_nothing_of_alpha(charlie_api, account):
    for n in range(3):
        make_fill(account, executed_at=T0 + timedelta(minutes=n))
    body = charlie_api.get("/api/v1/fills/?page_size=1").json()
    assert body == {"next": None, "previous": None, "results": []}


def test_it_needs_a_token(client, account):
    make_fill(account)
    assert client.get("/api/v1/fills/").status_code == 401


def test_a_page_costs_a_fixed_number_of_queries(api, account, django_assert_max_num_queries):
    from accounts.models import Bot
    bot = Bot.objects.create(account=account, key="paper:q")
    for n in range(60):
        make_fill(account, bot=bot, executed_at=T0 + timedelta(seconds=n))
    api.get("/api/v1/fills/?page_size=1")  # token look-up and last_used_at write happen once
    with django_assert_max_num_queries(4):
        body = api.get("/api/v1/fills/?page_size=50").json()
    assert len(body["results"]) == 50 and body["results"][0]["bot"] == "paper:q"


@given(offsets=st.lists(st.integers(min_value=0, max_value=5), min_size=0, max_size=25),
       page_size=st.integers(min_value=1, max_value=7))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_walking_the_pages_either_way_gives_every_row_once_in_order(api, account, offsets, page_size):
    # Few distinct times, so ties are the rule: the cursor's (time, id) must order them.
    from trades.models import Fill
    Fill.objects.filter(account=account).delete()
    made = [make_fill(account, external_id=f"p{n}", executed_at=T0 + timedelta(seconds=s))
            for n, s in enumerate(offsets)]
    expected = [f.external_id for f in sorted(made, key=lambda f: (f.executed_at, f.pk), reverse=True)]
    pages, url, last = [], f"/api/v1/fills/?page_size={page_size}", None
    while url:
        last = api.get(url).json()
        pages.append(ids_of(last))
        url = last["next"]
    assert [i for page in pages for i in page] == expected
    assert all(len(page) == page_size for page in pages[:-1])
    back, url = [], last["previous"]
    while url:
        body = api.get(url).json()
        back = ids_of(body) + back
        url = body["previous"]
    assert back + pages[-1] == expected


def ids_of(body) -> list[str]:
    return [row["id"] for row in body["results"]]
