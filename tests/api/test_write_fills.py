"""POST /api/v1/fills/: idempotency, conflicts, atomicity, limits, isolation (SPEC 4.1)."""

from decimal import Decimal

import pytest
from django.test import override_settings

from tests.api.write_helpers import fill, post
from tests.conftest import client_for
from trades.api.auth import TokenRateThrottle
from trades.models import Event, Fill

URL = "/api/v1/fills/"


@pytest.mark.django_db
def test_it_creates_a_fill_and_answers_201_with_results_and_counts(api, account):
    response = post(api, URL, fill(1))
    assert response.status_code == 201
    assert response.json() == {"results": [{"index": 0, "status": "created", "id": "f1"}],
                               "counts": {"created": 1, "duplicate": 0, "updated": 0}}
    stored = Fill.objects.get(account=account)
    assert (stored.external_id, stored.symbol, stored.side) == ("f1", "BTCUSDT", "buy")
    assert stored.price == Decimal("100.5") and stored.quantity == Decimal("0.01") and stored.fee == Decimal("0.001")
    assert stored.bot.key == "paper:BTCUSD-ETHUSD" and stored.source == "bot"


@pytest.mark.django_db
def test_a_replay_of_1000_fills_makes_no_new_rows_and_answers_200(api, account):
    batch = [fill(n) for n in range(1000)]
    first = post(api, URL, batch)
    assert first.status_code == 201 and first.json()["counts"]["created"] == 1000
    replay = post(api, URL, batch)
    assert replay.status_code == 200
    assert replay.json()["counts"] == {"created": 0, "duplicate": 1000, "updated": 0}
    assert all(r["status"] == "duplicate" for r in replay.json()["results"])
    assert Fill.objects.filter(account=account).count() == 1000
    # Duplicates are journaled too.
    assert Event.objects.filter(account=account, type="fill").count() == 2000
    assert Event.objects.filter(account=account, outcome="duplicate").count() == 1000


@pytest.mark.django_db
def test_a_changed_replay_answers_409_naming_item_and_fields_and_changes_nothing(api, account):
    batch = [fill(n) for n in range(1000)]
    post(api, URL, batch)
    events_before = Event.objects.count()
    changed = [dict(item) for item in batch] + [fill(5000)]
    changed[7] = {**changed[7], "price": "100.6", "quantity": "0.02"}
    response = post(api, URL, changed)
    assert response.status_code == 409
    errors = response.json()["errors"]
    assert {(e["index"], e["field"]) for e in errors} == {(7, "price"), (7, "quantity")}
    assert "f7" in errors[0]["message"]
    assert Fill.objects.get(account=account, external_id="f7").price == Decimal("100.5")
    assert not Fill.objects.filter(external_id="f5000").exists()  # nothing of the request written
    assert Event.objects.count() == events_before


@pytest.mark.django_db
def test_duplicates_compare_booked_content_as_decimals_not_meta_or_source(api, account):
    post(api, URL, fill(1, price="100.50", source="bot", note="from the bot"))
    same = post(api, URL, '{"id": "f1", "symbol": "BTCUSDT", "side": "buy", "price": 100.5000, "quantity": 1e-2,'
                          ' "fee": "0.0010", "fee_currency": "USDT", "executed_at": "' + fill(1)["executed_at"]
                          + '", "source": "exchange", "note": "from the feed"}')
    assert same.status_code == 200 and same.json()["results"][0]["status"] == "duplicate"
    assert Fill.objects.filter(account=account).count() == 1
    assert Fill.objects.get().meta == {"note": "from the bot"}


@pytest.mark.django_db
def test_the_same_id_in_another_symbol_is_another_fill(api, account):
    post(api, URL, fill(1))
    response = post(api, URL, fill(1, symbol="ETHUSDT"))
    assert response.status_code == 201
    assert Fill.objects.filter(account=account, external_id="f1").count() == 2


@pytest.mark.django_db
def test_a_batch_with_one_bad_item_writes_nothing_and_lists_every_error(api, account):
    batch = [fill(1), fill(2, price="-1"), fill(3, side="long", executed_at="yesterday"), fill(4)]
    del batch[3]["quantity"]
    response = post(api, URL, batch)
    assert response.status_code == 400
    assert {(e["index"], e["field"]) for e in response.json()["errors"]} == {
        (1, "price"), (2, "side"), (2, "executed_at"), (3, "quantity")}
    assert Fill.objects.count() == 0 and Event.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["1e30", "123456789012345678901", "0.1234567890123456789", "NaN", "Infinity", ""])
def test_values_that_do_not_fit_numeric_38_18_are_a_400(api, value):
    response = post(api, URL, fill(1, price=value))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "price"
    assert Fill.objects.count() == 0


@pytest.mark.django_db
def test_fees_list_is_stored_as_first_fee_and_other_fees(api, account):
    item = fill(1, fees=[{"amount": "0.1", "currency": "USDT"}, {"amount": "0.002", "currency": "BNB"}])
    del item["fee"], item["fee_currency"]
    assert post(api, URL, item).status_code == 201
    stored = Fill.objects.get()
    assert (stored.fee, stored.fee_currency) == (Decimal("0.1"), "USDT")
    assert stored.other_fees == [{"amount": "0.002", "currency": "BNB"}]
    # Same fees again: duplicate; another second fee: conflict on fees.
    assert post(api, URL, item).json()["results"][0]["status"] == "duplicate"
    other = {**item, "fees": [{"amount": "0.1", "currency": "USDT"}, {"amount": "0.003", "currency": "BNB"}]}
    response = post(api, URL, other)
    assert response.status_code == 409 and response.json()["errors"][0]["field"] == "fees"


@pytest.mark.django_db
def test_epoch_milliseconds_and_naive_times_are_utc(api):
    post(api, URL, [fill(1, executed_at=1767225600123), fill(2, executed_at="2026-01-01T00:00:00")])
    first, second = Fill.objects.get(external_id="f1"), Fill.objects.get(external_id="f2")
    assert first.executed_at.isoformat() == "2026-01-01T00:00:00.123000+00:00"
    assert second.executed_at.isoformat() == "2026-01-01T00:00:00+00:00"


@pytest.mark.django_db
def test_charlie_gets_404_writing_to_alpha_and_his_fills_never_land_in_alpha(account, charlie_api, other_account):
    for response in (post(charlie_api, URL + "?account=alpha", fill(1)),
                     post(charlie_api, URL, fill(1, account="alpha")),
                     post(charlie_api, URL, fill(1, account="no-such-account"))):
        assert response.status_code == 404
        assert "errors" in response.json()
    assert Fill.objects.count() == 0
    assert post(charlie_api, URL, fill(1)).status_code == 201
    assert Fill.objects.filter(account=account).count() == 0
    assert Fill.objects.filter(account=other_account).count() == 1


@pytest.mark.django_db
def test_a_token_with_several_accounts_must_name_one(account, other_account):
    both = client_for(account, other_account)
    response = post(both, URL, fill(1))
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "account"
    assert post(both, URL + "?account=charlie", fill(1)).status_code == 201
    assert post(both, URL, fill(2, account="alpha")).status_code == 201
    assert Fill.objects.get(external_id="f1").account == other_account
    assert Fill.objects.get(external_id="f2").account == account


@pytest.mark.django_db
def test_no_token_is_401_and_token_keyword_works(account, api):
    from rest_framework.test import APIClient

    assert post(APIClient(), URL, fill(1)).status_code == 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api.token_secret}")
    assert post(client, URL, fill(1)).status_code == 201


@pytest.mark.django_db
@override_settings(API_MAX_ITEMS=3)
def test_more_items_than_api_max_items_is_413(api):
    response = post(api, URL, [fill(n) for n in range(4)])
    assert response.status_code == 413
    assert Fill.objects.count() == 0


@pytest.mark.django_db
@override_settings(API_MAX_BYTES=2000)
def test_a_body_over_api_max_bytes_is_413(api):
    response = post(api, URL, [fill(n) for n in range(20)])
    assert response.status_code == 413
    assert response.json()["errors"][0]["index"] is None
    assert Fill.objects.count() == 0


@pytest.mark.django_db
def test_a_token_over_its_rate_gets_429_with_retry_after(api, monkeypatch):
    from django.core.cache import cache

    cache.clear()
    monkeypatch.setattr(TokenRateThrottle, "rate", "2/m", raising=False)
    assert post(api, URL, fill(1)).status_code == 201
    assert post(api, URL, fill(2)).status_code == 201
    response = post(api, URL, fill(3))
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert Fill.objects.count() == 2
    cache.clear()


@pytest.mark.django_db
def test_a_batch_at_the_item_limit_is_written_and_replayed_as_duplicates(api, account):
    """10,000 items (the default API_MAX_ITEMS) fit the databases' statement limits, both ways."""
    from django.conf import settings

    batch = [fill(n) for n in range(settings.API_MAX_ITEMS)]
    assert post(api, URL, batch).json()["counts"]["created"] == len(batch)
    assert post(api, URL, batch).json()["counts"]["duplicate"] == len(batch)
    assert Fill.objects.filter(account=account).count() == len(batch)
