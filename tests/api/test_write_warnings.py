"""Unknown fields (SPEC 4.1 rule 3): kept in meta, and the answer names each, with the known field
one typo away — a `feee` no longer books a fill silently without its fee."""

import pytest

from tests.api.test_native_bybit import EXECUTION
from tests.api.write_helpers import fill, post
from trades.models import Fill

pytestmark = pytest.mark.django_db
URL = "/api/v1/fills/"


def test_typos_are_kept_in_meta_and_named_with_the_field_meant(api):
    item = fill(1)
    del item["fee"], item["fee_currency"]
    response = post(api, URL, {**item, "feee": "0.5", "fee_curency": "USDT"})
    assert response.status_code == 201
    assert response.json()["warnings"] == [
        {"index": 0, "field": "feee",
         "message": "is not a field of a fill item: kept in meta, not booked — did you mean 'fee'?"},
        {"index": 0, "field": "fee_curency",
         "message": "is not a field of a fill item: kept in meta, not booked — did you mean 'fee_currency'?"},
    ]
    stored = Fill.objects.get()
    assert stored.fee == 0 and stored.meta == {"feee": "0.5", "fee_curency": "USDT"}


@pytest.mark.parametrize("name, meant", [
    ("Fee", "fee"), ("prcie", "price"), ("executedAt", "executed_at"), ("quantiy", "quantity"), ("sdie", "side"), ("fees_", "fees"),
    ("reported-pnl", "reported_pnl"), ("exchange_note", None),
])
def test_the_suggestion_is_one_typo_case_or_separator_away(api, name, meant):
    warning = post(api, URL, fill(1, **{name: "1"})).json()["warnings"][0]
    assert warning["field"] == name
    assert warning["message"].endswith(f"did you mean {meant!r}?") if meant else "did you mean" not in warning["message"]


def test_an_answer_without_unknown_fields_has_no_warnings(api):
    assert "warnings" not in post(api, URL, [fill(1), fill(2)]).json()


def test_an_explicit_meta_object_is_kept_without_a_warning(api):
    response = post(api, URL, [fill(1, meta={"strategy_run": 7}), fill(2, note="x", meta={"a": 1})])
    assert response.json()["warnings"] == [
        {"index": 1, "field": "note", "message": "is not a field of a fill item: kept in meta, not booked"}]
    assert Fill.objects.get(external_id="f1").meta == {"strategy_run": 7}
    assert Fill.objects.get(external_id="f2").meta == {"a": 1, "note": "x"}


def test_a_field_given_both_beside_and_in_meta_is_a_400(api):
    response = post(api, URL, fill(1, note="x", meta={"note": "y"}))
    assert response.status_code == 400
    assert response.json()["errors"] == [{"index": 0, "field": "note",
                                          "message": "is given both as a field and in meta: send it once"}]


def test_the_translators_own_fields_raise_no_warnings(api):
    response = post(api, "/api/v1/ingest/bybit/", EXECUTION)
    assert response.status_code == 201 and "warnings" not in response.json()
    assert Fill.objects.get().meta["exec_type"] == "Trade"
    legacy = {"type": "trade", "timestamp": "2026-01-05T10:00:00", "bot_id": "paper:x", "symbol": "BTCUSD",
              "side": "BUY", "price": "42000.5", "quantity": "0.25", "commission": "1.6", "pnl": "-2"}
    assert "warnings" not in post(api, "/api/v1/events/", legacy).json()


def test_warnings_on_events_name_the_line(api):
    lines = [{"type": "fill", **fill(1)}, {"type": "signal", "symbol": "BTCUSDT", "value": 1,
                                          "generated_at": "2026-01-01T00:00:00Z", "strenght": "0.5"}]
    assert post(api, "/api/v1/events/", lines).json()["warnings"] == [
        {"index": 1, "field": "strenght",
         "message": "is not a field of a signal item: kept in meta, not booked — did you mean 'strength'?"}]
