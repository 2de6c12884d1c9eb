"""Property tests of the value parsers and the validator: whatever a client sends, the answer is a
value or a BadValue (a 400 naming the field) — never another exception (a 500), never a value
the rule refuses, and never more than a bounded amount of work."""

import json
import string
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Account
from core.amounts import AMOUNT_CONTEXT, AMOUNT_LIMIT, NUMBER_TEXT, decimal_str, parse_amount
from core.errors import BadValue
from core.exact_json import loads_exact
from core.times import EARLIEST, parse_time
from tests.fuzz.conftest import FIGURES
from trades.ingest.items import Problems
from trades.ingest.schema import ITEM_TYPES
from trades.ingest.validate import check_items, suggestion, unknown_field_warnings

pytestmark = pytest.mark.fuzz

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
# Seconds of this process's CPU (not the wall clock, which other processes' load stretches) for one
# value parsed or refused: microseconds really, but a full garbage collection of the test process
# may land inside one (a few hundred ms); unbounded work (a billion digits) takes minutes.
QUICK = 2.0
FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text a client might send: number-like pieces, every kind of digit and space, signs, exponents.
NUMBERISH = st.lists(st.sampled_from(list("0123456789.-+eE_ ,\t\n") + ["١", "٣", "１", "𝟙", "NaN", "Infinity",
                                                                   "inf", "x", "1e999999999", "0" * 30]),
                     max_size=20).map("".join)
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20),
                         st.decimals(allow_nan=True, allow_infinity=True), NUMBERISH)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


def bounded(call):
    start = time.process_time()
    try:
        return call()
    finally:
        assert time.process_time() - start < QUICK


@FUZZ
@given(st.one_of(NUMBERISH, JSON_VALUES, st.decimals(), st.integers(min_value=-(10**200), max_value=10**200)))
def test_an_amount_is_a_decimal_that_fits_or_a_bad_value(value):
    FIGURES.example("parse_amount")
    try:
        number = bounded(lambda: parse_amount(value))
    except BadValue:
        return
    assert isinstance(number, Decimal) and number.is_finite() and number.copy_abs() < AMOUNT_LIMIT
    assert number == number.quantize(Decimal(1).scaleb(-18), context=AMOUNT_CONTEXT)  # 18 places: none rounded
    if isinstance(value, str):
        assert NUMBER_TEXT.fullmatch(value) and number == Decimal(value)  # ASCII rule, read exactly
    assert parse_amount(decimal_str(number)) == number  # its canonical text reads back


@FUZZ
@given(st.decimals(min_value=Decimal("-1e20"), max_value=Decimal("1e20"), places=18, allow_nan=False))
def test_every_amount_numeric_38_18_holds_is_taken(value):
    if value.copy_abs() < AMOUNT_LIMIT:
        assert parse_amount(decimal_str(value)) == value


@FUZZ
@given(st.one_of(JSON_VALUES, NUMBERISH, st.decimals(allow_nan=True, allow_infinity=True),
                 st.integers(min_value=-(10**60), max_value=10**60),
                 st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())))
def test_a_time_is_an_aware_utc_time_in_range_or_a_bad_value(value):
    FIGURES.example("parse_time")
    try:
        at = bounded(lambda: parse_time(value, now=NOW))
    except BadValue as exc:
        assert "ISO 8601" in str(exc)  # it says what a time may be
        return
    assert at.utcoffset() == timedelta(0) and EARLIEST <= at <= NOW + timedelta(days=1)


@FUZZ
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2026, 12, 6)))
def test_epoch_seconds_and_milliseconds_read_back_the_time(naive):
    FIGURES.example("epoch round trip")
    at = naive.replace(tzinfo=UTC, microsecond=naive.microsecond // 1000 * 1000)
    seconds = Decimal((at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)) / 1000
    assert parse_time(seconds, now=NOW) == at
    assert parse_time(int(seconds * 1000), now=NOW) == at
    assert parse_time(str(int(seconds * 1000)), now=NOW) == at
    assert parse_time(at.isoformat(), now=NOW) == at


@settings(max_examples=800, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('{}[],:" 0123456789.-+eE\\truefalsn') + ["\u2028", "\x00", "é"]),
               max_size=60))
def test_reading_any_json_text_gives_a_value_or_a_value_error(text):
    FIGURES.example("loads_exact")
    try:
        bounded(lambda: loads_exact(text))
    except ValueError:  # JSONDecodeError, a duplicate key, a number out of bounds
        pass


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["1", "-1", "0.5", "1e"]).flatmap(
    lambda head: st.integers(min_value=0, max_value=10**18).map(lambda e: f"{head}e{e}")))
def test_a_json_number_with_any_exponent_is_read_or_refused_at_once(number):
    try:
        bounded(lambda: loads_exact('{"price": ' + number + "}"))
    except ValueError:
        pass


ACCOUNT = Account(slug="alpha", base_currency="USDT")


def field_values(kind_field):
    """Values for one field: a right one of its kind now and then, anything otherwise."""
    return st.one_of(JSON_VALUES, NUMBERISH, st.sampled_from(["2026-01-01T00:00:00Z", "1767225600", 1767225600000,
                                                              "buy", "sell", "long", "new", "deposit", "1.5", 1,
                                                              True, {}, [], "BTCUSDT"]))


@st.composite
def items(draw):
    item_type = draw(st.sampled_from(list(ITEM_TYPES.values())))
    names = [f.name for f in item_type.fields] + ["account", "bot", "bot_id", "meta", "type", "feee", "x" * 70]
    chosen = draw(st.lists(st.sampled_from(names), max_size=len(names), unique=True))
    item = {name: draw(field_values(name)) for name in chosen}
    if draw(st.booleans()):
        item["type"] = item_type.name
    return item_type.name, item


@settings(max_examples=800, deadline=None)
@given(st.lists(items(), min_size=1, max_size=5), st.booleans())
def test_the_validator_answers_problems_or_items_never_an_exception(posted, mixed):
    FIGURES.example("check_items")
    problems = Problems()
    item_type = None if mixed else posted[0][0]
    bodies = [item for _type, item in posted]
    start = time.process_time()
    checked = check_items(bodies, item_type=item_type, accounts=[ACCOUNT], problems=problems)
    assert time.process_time() - start < QUICK * len(bodies)
    if problems:
        with pytest.raises(Exception) as caught:
            problems.raise_any()
        assert caught.value.status in (400, 404)
        for error in caught.value.errors:
            assert set(error) == {"index", "field", "message"} and error["message"]
            json.dumps(error)  # the answer is JSON text
    for item in checked:
        assert set(item.unknown) <= set(item.meta)
        assert all(f in item.posted for f in item.unknown)
    for warning in unknown_field_warnings(checked):
        assert set(warning) == {"index", "field", "message"} and "kept in meta" in warning["message"]


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=string.ascii_letters + "_-", max_size=80), st.sampled_from(list(ITEM_TYPES.values())))
def test_a_suggestion_is_a_known_field_or_none(name, item_type):
    known = suggestion(name, item_type)
    assert known is None or known in {f.name for f in item_type.fields} | {"account", "bot", "bot_id", "meta"}
