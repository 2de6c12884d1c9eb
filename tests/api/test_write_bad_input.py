"""Bad input gets a clear error and writes nothing — never a 500, never a silent guess.

Each case here once went wrong: a key given twice kept the last value silently; a NUL
character or an unpaired surrogate reached the database (a misleading 400 on PostgreSQL, a
500 for the surrogate); nesting past the parser's depth was a 500; a key with a NUL in a URL
was a 500; a POST to an API path without its trailing slash was redirected with a 301, which
clients follow with a GET (a 200 listing fills: the write lost without a word); routes no view
matched answered HTML. Every test runs on SQLite and PostgreSQL.
"""

import json

import pytest
from django.urls import path

from core.exact_json import MAX_DEPTH
from tests.api.write_helpers import fill, post
from trades.models import Event, Fill, Trade

URL = "/api/v1/fills/"
FIELDS = ('"symbol": "BTCUSDT", "side": "buy", "price": "100", "quantity": "1", '
          '"executed_at": "2026-01-01T00:00:00Z"')


def nothing_written():
    return not Fill.objects.exists() and not Event.objects.exists()


def errors_of(response, status=400) -> list[dict]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    return response.json()["errors"]


# --- a key given twice ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_key_given_twice_in_an_item_is_a_400_naming_the_item_and_the_key(api):
    body = f'[{{"id": "a", {FIELDS}}}, {{"id": "b", {FIELDS}, "price": "200"}}]'
    errors = errors_of(post(api, URL, body))
    assert errors == [{"index": 1, "field": "price",
                       "message": "the key 'price' appears twice in one object: send each field once"}]
    assert nothing_written()


@pytest.mark.django_db
def test_a_key_given_twice_in_a_single_object_or_deep_inside_an_item_is_a_400(api):
    assert errors_of(post(api, URL, f'{{"id": "a", {FIELDS}, "id": "b"}}'))[0]["index"] == 0
    nested = f'[{{"id": "a", {FIELDS}}}, {{"id": "b", {FIELDS}, "plan": {{"sl": "1", "sl": "2"}}}}]'
    errors = errors_of(post(api, URL, nested))
    assert [(e["index"], e["field"]) for e in errors] == [(1, "sl")]
    assert nothing_written()


@pytest.mark.django_db
def test_a_key_given_twice_on_an_ndjson_line_names_the_line(api):
    lines = f'{{"type": "fill", "id": "a", {FIELDS}}}\n{{"type": "fill", "id": "b", "id": "c", {FIELDS}}}\n'
    errors = errors_of(post(api, "/api/v1/events/", lines, content_type="application/x-ndjson"))
    assert [(e["index"], e["field"]) for e in errors] == [(1, "id")]
    assert errors[0]["message"].startswith("line 2: the key 'id' appears twice")
    assert nothing_written()


@pytest.mark.django_db
def test_the_same_key_in_different_objects_is_fine(api):
    body = f'[{{"id": "a", {FIELDS}, "plan": {{"id": "p"}}}}, {{"id": "b", {FIELDS}}}]'
    assert post(api, URL, body).status_code == 201
    assert Fill.objects.get(external_id="a").meta == {"plan": {"id": "p"}}


def test_import_events_names_the_line_with_a_key_given_twice(tmp_path, account):
    from django.core.management import CommandError, call_command

    path = tmp_path / "events.jsonl"
    path.write_text(f'{{"type": "fill", "id": "a", {FIELDS}}}\n{{"type": "fill", "id": "b", "side": "sell", {FIELDS}}}\n')
    with pytest.raises(CommandError, match=r"line 2: not valid JSON: the key 'side' appears twice"):
        call_command("import_events", str(path), account="alpha")
    assert nothing_written()


# --- text no database can keep as posted ----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("field, body", [
    ("id", f'{{"id": "a\\u0000b", {FIELDS}}}'),
    ("symbol", '{"id": "a", "symbol": "BTC\\u0000", "side": "buy", "price": "1", "quantity": "1", '
               '"executed_at": "2026-01-01T00:00:00Z"}'),
    ("note", f'{{"id": "a", {FIELDS}, "note": "x\\u0000y"}}'),
    ("plan", f'{{"id": "a", {FIELDS}, "plan": {{"steps": ["ok", "x\\u0000"]}}}}'),
])
def test_a_nul_character_anywhere_in_an_item_is_a_400_naming_the_field(api, field, body):
    errors = errors_of(post(api, URL, f'[{{"id": "ok", {FIELDS}}}, {body}]'))
    assert errors == [{"index": 1, "field": field,
                       "message": "contains the character U+0000 (NUL), which cannot be stored: remove it"}]
    assert nothing_written()


@pytest.mark.django_db
def test_a_nul_character_in_a_field_name_is_a_400(api):
    errors = errors_of(post(api, URL, f'{{"id": "a", {FIELDS}, "no\\u0000te": 1}}'))
    assert errors[0]["index"] == 0 and errors[0]["field"] is None
    assert "the field name 'no\\x00te' contains the character U+0000" in errors[0]["message"]
    assert nothing_written()


@pytest.mark.django_db
def test_a_nul_character_in_a_log_line_posted_as_ndjson_is_a_400(api):
    line = '{"type": "log", "level": "info", "message": "a\\u0000b"}'
    errors = errors_of(post(api, "/api/v1/events/", line, content_type="application/x-ndjson"))
    assert [(e["index"], e["field"]) for e in errors] == [(0, "message")]
    assert nothing_written()


@pytest.mark.django_db
def test_an_unpaired_surrogate_is_a_400_not_a_500(api):
    errors = errors_of(post(api, URL, f'{{"id": "a", {FIELDS}, "note": "x\\ud800y"}}'))
    assert [(e["index"], e["field"]) for e in errors] == [(0, "note")]
    assert "unpaired surrogate" in errors[0]["message"]
    assert nothing_written()


@pytest.mark.django_db
def test_text_that_only_looks_suspect_is_kept_exactly(api, account):
    """A backslash followed by u0000 is text, not a NUL; a surrogate pair is one character."""
    body = f'{{"id": "a", {FIELDS}, "note": "C:\\\\u0000 \\ud83d\\ude00", "pattern": "[{{[{{"}}'
    assert post(api, URL, body).status_code == 201
    stored = Fill.objects.get(account=account, external_id="a")
    assert stored.meta == {"note": "C:\\u0000 \U0001F600", "pattern": "[{[{"}
    assert json.loads(api.get(URL).content)["results"][0]["meta"]["note"] == "C:\\u0000 \U0001F600"


# --- nesting ---------------------------------------------------------------------------------


def nested(depth: int) -> str:
    """An item `depth` levels deep in all (the item itself is level 1)."""
    inner = "[" * (depth - 1) + "]" * (depth - 1)
    return f'{{"id": "deep{depth}", {FIELDS}, "plan": {inner}}}'


@pytest.mark.django_db
def test_an_item_nested_up_to_the_limit_is_kept_and_read_back(api):
    assert post(api, URL, nested(MAX_DEPTH)).status_code == 201
    assert api.get(URL).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 300, 900])
def test_an_item_nested_past_the_limit_is_a_400(api, depth):
    errors = errors_of(post(api, URL, nested(depth)))
    assert errors == [{"index": 0, "field": None,
                       "message": f"is nested more than {MAX_DEPTH} levels deep (objects or lists inside each other)"}]
    assert nothing_written()


@pytest.mark.django_db
def test_a_body_nested_deeper_than_the_parser_goes_is_a_400_not_a_500(api):
    errors = errors_of(post(api, URL, "[" * 100_000 + "]" * 100_000))
    assert "nested too deeply" in errors[0]["message"]


# --- URLs --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("method, url", [
    ("get", "/api/v1/trades/a%00b/"), ("patch", "/api/v1/trades/a%00b/"), ("post", "/api/v1/trades/a%00b/close/"),
    ("get", "/api/v1/fills/a%00b/"), ("get", "/api/v1/orders/a%00b/fills/"),
])
def test_a_key_with_a_nul_in_the_url_is_a_404_in_the_api_format(api, method, url):
    response = api.get(url) if method == "get" else getattr(api, method)(url, data="{}", content_type="application/json")
    assert errors_of(response, 404)[0]["index"] is None
    assert not Trade.objects.exists() and not Event.objects.exists()


@pytest.mark.django_db
def test_an_api_path_no_route_matches_answers_json_and_other_paths_keep_html(api):
    assert "endpoints are listed at /api/docs/" in errors_of(api.get("/api/v1/nothing/"), 404)[0]["message"]
    assert errors_of(api.get("/api/v2/fills/"), 404)
    page = api.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_a_write_without_the_trailing_slash_is_a_404_naming_the_right_url_not_a_redirect(api):
    response = post(api, "/api/v1/fills", fill(1))
    errors = errors_of(response, 404)
    assert "'/api/v1/fills/', with the trailing slash" in errors[0]["message"]
    assert errors_of(api.patch("/api/v1/trades/t1", data="{}", content_type="application/json"), 404)
    assert nothing_written()
    # A read is still redirected: nothing can be lost.
    assert api.get("/api/v1/fills").status_code == 301


def _raising_view(request):
    raise RuntimeError("a bug")


urlpatterns = [path("api/v1/boom/", _raising_view), path("boom/", _raising_view)]
handler500 = "trades.api.errors.server_error"


@pytest.mark.django_db
def test_a_server_error_on_an_api_path_answers_json(api, settings):
    settings.ROOT_URLCONF = __name__
    api.raise_request_exception = False
    errors = errors_of(api.get("/api/v1/boom/"), 500)
    assert "sending the request again is safe" in errors[0]["message"]
    page = api.get("/boom/")
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


# --- a value the books compute that does not fit ------------------------------------------


@pytest.mark.django_db
def test_a_profit_too_large_for_numeric_38_18_is_a_400_naming_it_and_writes_nothing(api):
    """Each fill fits; the realized PnL of closing one against the other (1e20 * 1e19) does not."""
    big = "99999999999999999999"
    buy = fill(1, price="1", quantity=big)
    sell = fill(2, side="sell", price="10000000000000000000", quantity=big)
    errors = errors_of(post(api, URL, [buy, sell]))
    assert "does not fit numeric(38,18)" in errors[0]["message"]
    assert nothing_written()


# --- identifiers are compared exactly --------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("field, value", [("id", "f1 "), ("symbol", " BTCUSDT"), ("order_id", "o-1\n"),
                                          ("fee_currency", "USDT\t"), ("trade_id", "\u00a0t-1")])
def test_an_identifier_with_spaces_at_either_end_is_a_400_not_a_second_key(api, field, value):
    """" BTCUSDT" would be a second symbol with its own position, "f1 " a second fill: a double count."""
    assert post(api, URL, fill(1)).status_code == 201
    errors = errors_of(post(api, URL, [fill(2), fill(1, **{field: value})]))
    assert [(e["index"], e["field"]) for e in errors] == [(1, field)]
    assert "has spaces at its start or end" in errors[0]["message"]
    assert Fill.objects.count() == 1


@pytest.mark.django_db
def test_spaces_inside_an_identifier_and_around_free_text_are_kept(api, account):
    assert post(api, URL, fill(1, id="order 7 / fill 2", reason="  stop hit  ")).status_code == 201
    stored = Fill.objects.get(account=account)
    assert (stored.external_id, stored.reason) == ("order 7 / fill 2", "  stop hit  ")


@pytest.mark.django_db
def test_a_fee_currency_with_spaces_in_a_fees_list_is_a_400(api):
    item = fill(1, fees=[{"amount": "0.1", "currency": "USDT"}, {"amount": "0.2", "currency": "BNB "}])
    del item["fee"], item["fee_currency"]
    errors = errors_of(post(api, URL, item))
    assert [(e["index"], e["field"]) for e in errors] == [(0, "fees")]
    assert nothing_written()


def test_the_schema_says_identifiers_have_no_spaces_at_either_end():
    import re

    from trades.api.openapi import CODE_PATTERN, field_schema
    from trades.ingest.schema import ITEM_TYPES

    described = field_schema(ITEM_TYPES["fill"].field("symbol"))
    assert described["pattern"] == CODE_PATTERN and "no spaces at either end" in described["description"]
    pattern = re.compile(CODE_PATTERN)
    assert all(pattern.fullmatch(v) for v in ("", "BTCUSDT", "a b", "x"))
    assert not any(pattern.fullmatch(v) for v in (" a", "a ", "a\n", " "))
