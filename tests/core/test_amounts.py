from datetime import UTC, datetime
from decimal import Decimal

import pytest

from core.amounts import decimal_str, parse_amount
from core.errors import BadValue
from core.times import parse_time


@pytest.mark.parametrize("raw, expected", [
    ("1.5", "1.5"), (Decimal("0.10000000000000001"), "0.10000000000000001"), (7, "7"), ("-0", "0"),
    ("1E+3", "1000"), ("0.000000000000000001", "0.000000000000000001"),
    ("99999999999999999999.999999999999999999", "99999999999999999999.999999999999999999"),
])
def test_parse_amount_is_exact(raw, expected):
    assert decimal_str(parse_amount(raw)) == expected


@pytest.mark.parametrize("raw, message", [
    ("abc", "not a decimal"), ("NaN", "not a decimal"), ("Infinity", "not a decimal"), (True, "decimal"), (None, "decimal"),
    ("0.0000000000000000001", "decimal places"), ("100000000000000000000", "too large"), ("", "empty"),
    ({"a": 1}, "decimal"),
])
def test_parse_amount_rejects(raw, message):
    with pytest.raises(BadValue, match=message):
        parse_amount(raw)


@pytest.mark.parametrize("raw, expected", [
    (1767225600000, datetime(2026, 1, 1, tzinfo=UTC)),
    (1767225600123, datetime(2026, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)),
    ("1767225600123", datetime(2026, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)),
    ("2026-01-01T00:00:00", datetime(2026, 1, 1, tzinfo=UTC)),
    ("2026-01-01T02:00:00+02:00", datetime(2026, 1, 1, tzinfo=UTC)),
    ("2026-01-01T00:00:00.5Z", datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),
    ("2026-01-01 00:00:00", datetime(2026, 1, 1, tzinfo=UTC)),
])
def test_parse_time(raw, expected):
    parsed = parse_time(raw)
    assert parsed == expected and parsed.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("raw", ["yesterday", "", None, 1.5e300, "2026-13-01T00:00:00", True, 10**20])
def test_parse_time_rejects(raw):
    with pytest.raises(BadValue):
        parse_time(raw)


@pytest.mark.parametrize("raw", [
    " 1", "1 ", "1_000", "+1", "١٢", "１", "1,5", "0x10", "1e", "e5", ".", "-", "--1", "1.2.3", "1e+-2",
    "Infinity", "-Infinity", "inf", "nan", "sNaN", "1\n", "\t1",
])
def test_a_number_is_ascii_digits_a_leading_minus_one_point_and_an_exponent(raw):
    with pytest.raises(BadValue, match="is not a decimal number: write it in ASCII digits"):
        parse_amount(raw)


@pytest.mark.parametrize("raw, expected", [
    ("-1.5", "-1.5"), (".5", "0.5"), ("5.", "5"), ("1e-8", "0.00000001"), ("1E+2", "100"), ("2.5e3", "2500"),
])
def test_every_form_the_rule_allows_is_read(raw, expected):
    assert decimal_str(parse_amount(raw)) == expected


@pytest.mark.parametrize("raw, message", [
    ("1e1000000000000000000", "exponent out of any range"),  # once a 500 (InvalidOperation)
    (Decimal("1E+999999999"), "too large"), (Decimal("1E-999999999"), "decimal places"),
    ("1" * 101, "101 characters long"), (10**30, "too large"), (1e400, "not a decimal number"),
])
def test_extreme_numbers_are_refused_at_once(raw, message):
    with pytest.raises(BadValue, match=message):
        parse_amount(raw)
