"""Decimals round-trip exactly (SPEC 3): posted as JSON strings or as JSON numbers of up to
17 significant digits, stored and read back digit for digit — on SQLite too."""

import itertools
from decimal import Decimal

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.write_helpers import fill, post
from trades.api.renderers import ExactJSONRenderer
from trades.models import Event, Fill

_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def _unthrottled(monkeypatch):
    """These tests post hundreds of items a second with one token: the rate is not what they test."""
    from django.core.cache import cache

    from trades.api.auth import TokenRateThrottle

    monkeypatch.setattr(TokenRateThrottle, "rate", "1000000/s", raising=False)
    cache.clear()


@st.composite
def amounts(draw, max_significant: int | None = None) -> str:
    """A positive decimal string that fits numeric(38,18)."""
    integer = draw(st.integers(min_value=0, max_value=10**20 - 1))
    places = draw(st.integers(min_value=0, max_value=18))
    fraction = draw(st.integers(min_value=0, max_value=10**places - 1)) if places else 0
    text = f"{integer}.{fraction:0{places}d}" if places else str(integer)
    value = Decimal(text)
    if max_significant is not None:
        digits = value.as_tuple().digits
        if len(digits) > max_significant:
            value = Decimal((0, digits[:max_significant], value.as_tuple().exponent + len(digits) - max_significant))
            text = format(value, "f")
    if value <= 0:
        text = "1"
    return text


def _check(account, posted_id: str, price: str, quantity: str, api=None) -> None:
    stored = Fill.objects.get(account=account, external_id=posted_id)
    assert stored.price == Decimal(price) and stored.quantity == Decimal(quantity)
    if api is not None:  # and through the read API (another engineer's view), as JSON strings
        body = api.get(f"/api/v1/fills/{posted_id}/").json()
        assert isinstance(body["price"], str) and Decimal(body["price"]) == Decimal(price)
        assert isinstance(body["quantity"], str) and Decimal(body["quantity"]) == Decimal(quantity)
    # Out again as exact strings.
    rendered = orjson.loads(ExactJSONRenderer().render({"price": stored.price, "quantity": stored.quantity}))
    assert Decimal(rendered["price"]) == Decimal(price) and isinstance(rendered["price"], str)
    assert Decimal(rendered["quantity"]) == Decimal(quantity)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(price=amounts(), quantity=amounts())
def test_amounts_posted_as_strings_round_trip_exactly(api, account, price, quantity):
    posted_id = f"s{next(_ids)}"
    # A symbol per example: the books of one symbol would sum the quantities of all examples.
    response = post(api, "/api/v1/fills/", fill(1, id=posted_id, symbol=posted_id, price=price, quantity=quantity))
    assert response.status_code == 201, response.json()
    _check(account, posted_id, price, quantity, api)
    # The same value with other trailing zeros is the same booked content.
    again = post(api, "/api/v1/fills/", fill(1, id=posted_id, symbol=posted_id, price=price + ("0" if "." in price else ".000"),
                                            quantity=quantity))
    assert again.json()["results"][0]["status"] == "duplicate"


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(price=amounts(max_significant=17), quantity=amounts(max_significant=17))
def test_amounts_posted_as_json_numbers_of_17_digits_round_trip_exactly(api, account, price, quantity):
    posted_id = f"n{next(_ids)}"
    body = (f'{{"id": "{posted_id}", "symbol": "{posted_id}", "side": "buy", "price": {price}, '
            f'"quantity": {quantity}, "executed_at": 1767225600000}}')
    response = post(api, "/api/v1/fills/", body)
    assert response.status_code == 201, response.json()
    _check(account, posted_id, price, quantity, api)
    # The journal keeps the raw item; its numbers were not turned into floats on the way in.
    event = Event.objects.filter(account=account, item_key=posted_id).get()
    assert event.raw["id"] == posted_id


@pytest.mark.django_db
def test_the_largest_and_smallest_amounts_fit_and_one_digit_more_does_not(api, account):
    big, small = "99999999999999999999.999999999999999999", "0.000000000000000001"
    assert post(api, "/api/v1/fills/", fill(1, price=big, quantity=small)).status_code == 201
    _check(account, "f1", big, small)
    assert post(api, "/api/v1/fills/", fill(2, price="100000000000000000000")).status_code == 400
    assert post(api, "/api/v1/fills/", fill(3, quantity="0.0000000000000000001")).status_code == 400


@pytest.mark.django_db
def test_a_fill_whose_books_overflow_numeric_38_18_is_a_400_not_a_500(api, account):
    big = "99999999999999999999"
    assert post(api, "/api/v1/fills/", fill(1, price="1", quantity=big)).status_code == 201
    response = post(api, "/api/v1/fills/", fill(2, price="1", quantity=big))
    assert response.status_code == 400, response.json()
    assert Fill.objects.filter(account=account).count() == 1


@pytest.mark.parametrize("text, expected", [
    (b'{"p": 1.10, "q": [2e3, 7]}', {"p": Decimal("1.10"), "q": [Decimal("2E+3"), 7]}),
    ('{"p": 0.000000000000000001}', {"p": Decimal("0.000000000000000001")}),
    ('{"p": 1.5}'.encode("utf-16"), {"p": Decimal("1.5")}),  # bytes in any encoding JSON allows
    (b'\xef\xbb\xbf{"p": 2.50}', {"p": Decimal("2.50")}),  # UTF-8 with a byte-order mark, as json.loads
])
def test_the_shared_exact_decoder_reads_what_json_loads_reads_with_every_digit(text, expected):
    from core.exact_json import loads_exact

    for _ in range(2):  # the decoder is shared: a second use reads the same
        value = loads_exact(text)
        assert value == expected and repr(value) == repr(expected)


@pytest.mark.parametrize("text", [b"NaN", b'{"p": Infinity}', '\ufeff{"p": 1}', b'{"p": 1', b"\xff"])
def test_the_shared_exact_decoder_refuses_what_json_loads_refuses_and_non_numbers(text):
    from core.exact_json import loads_exact

    with pytest.raises(ValueError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        loads_exact(text)
