"""The NDJSON parser's quick reading (the body decoded once, each line scanned) must give
exactly what reading line by line gives, or step aside: never a different answer."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.exact_json import _clean_lines, _each_line

FILL = '{"type": "fill", "id": "a", "price": 1.10, "quantity": 3, "note": "x"}'

# Pieces a line can be made of: values, the spaces JSON allows and the ones it does not,
# every line break bytes.splitlines knows and some it does not, text JSON strings may hold.
PIECES = [FILL, '{"a": [1', '2]}', "{}", "[]", "1", '"s"', "null", "NaN", "{", "}", ",", " ", "\t", "\r", "\n",
          "\r\n", "\x0b", "\x0c", "\x85", "\u2028", "\ufeff", '{"k": "\u2028"}', '{"k": 1, "k": 2}', '{"\x00": 0}',
          "\x00", '{"x": 1e400}', '{"x": -0.0}', '{"x": "\\ud800"}']


def same_reading(body: bytes) -> None:
    try:
        expected = repr(_each_line(body))  # repr: Decimal("1.10") and Decimal("1.1") are two readings
    except Exception:  # noqa: BLE001 - any refusal: the quick reading must step aside
        expected = None
    quick = _clean_lines(body)
    if quick is not None:
        assert repr(quick) == expected, body


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12), st.sampled_from(["utf-8", "utf-16", "utf-8-sig"]))
def test_the_quick_reading_agrees_or_steps_aside(pieces, encoding):
    same_reading("".join(pieces).encode(encoding, "surrogatepass"))


@pytest.mark.parametrize("body", [
    FILL + "\u2028" + FILL,  # one line to bytes.splitlines: not two items
    FILL + "\r" + FILL,  # two lines to bytes.splitlines
    '{"a": [1\n2]}',  # a value over two lines is two bad lines, not one item
    FILL + "\n\x0b\n" + FILL,  # a line bytes.strip() finds blank
    "\ufeff" + FILL,
])
def test_the_quick_reading_on_lines_that_break_differently(body):
    same_reading(body.encode("utf-8"))


def test_a_plain_body_is_read_quickly_and_exactly():
    lines = [json.dumps({"type": "fill", "id": str(n), "price": f"1.{n}0"}) for n in range(5)]
    body = ("\r\n".join(lines) + "\n\n  \n").encode()
    quick = _clean_lines(body)
    assert quick is not None and repr(quick) == repr(_each_line(body))
    assert [item["price"] for item in quick] == ["1.00", "1.10", "1.20", "1.30", "1.40"]


@pytest.mark.parametrize("text, message", [
    ('{"price": 1e1000000000000000000}', "out of range"),  # once a 500: Decimal's InvalidOperation
    ('{"executed_at": 1E+999999999}', "out of range"),  # once a stuck worker
    ('{"x": 1e101}', "out of range"), ('{"x": 1e-101}', "out of range"),
    ('{"id": ' + "1" * 101 + "}", "at most 100"), ('{"x": 0.' + "1" * 100 + "}", "at most 100"),
])
def test_json_numbers_past_the_bounds_are_refused_while_read(text, message):
    from core.exact_json import loads_exact

    with pytest.raises(ValueError, match=message):
        loads_exact(text)


def test_json_numbers_within_the_bounds_are_exact():
    from decimal import Decimal

    from core.exact_json import loads_exact, loads_stored

    value = loads_exact('{"a": 1e100, "b": -1e-100, "c": ' + "9" * 100 + ', "d": 0.10}')
    assert value == {"a": Decimal("1e100"), "b": Decimal("-1e-100"), "c": int("9" * 100), "d": Decimal("0.10")}
    # What PostgreSQL's jsonb writes back for 1e100 (101 digits) is still read, exactly.
    assert loads_stored('{"a": 1' + "0" * 100 + "}") == {"a": 10**100}
