"""core.times: what a posted time may be (SPEC 3), and what it says when it is refused."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from core.errors import BadValue
from core.times import parse_time

NOW = datetime(2026, 12, 6, 13, 0, tzinfo=UTC)
AT = datetime(2025, 12, 6, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize("raw, expected", [
    (1765018800, AT),  # a bot's int(time.time()): seconds
    (Decimal("1765018800.25"), AT.replace(microsecond=250000)),  # time.time() with its fraction
    (1765018800.5, AT.replace(microsecond=500000)),  # a float, read by its shortest text
    (Decimal("1765018800.0000004"), AT),  # past the microsecond: rounded half-even
    (1765018800000, AT),  # epoch milliseconds
    (Decimal("1765018800000.5"), AT.replace(microsecond=500)),
    ("1765018800", AT), ("1765018800000", AT), ("1765018800.25", AT.replace(microsecond=250000)),
    ("2025-12-06T11:00:00Z", AT), ("2025-12-06T11:00:00", AT), ("2025-12-06T13:00:00+02:00", AT),
    ("2025-12-06 11:00:00", AT), ("2025-12-06T11:00:00.123456z", AT.replace(microsecond=123456)),
    (99_999_999_999, None),  # the last number read as seconds: year 5138, refused below as too far ahead
])
def test_a_time_is_read_as_seconds_below_10_11_and_milliseconds_from_there(raw, expected):
    if expected is None:
        with pytest.raises(BadValue, match="read as epoch seconds = 5138-"):
            parse_time(raw, now=NOW)
        return
    parsed = parse_time(raw, now=NOW)
    assert parsed == expected and parsed.utcoffset().total_seconds() == 0


def test_every_real_time_reads_the_same_in_seconds_and_in_milliseconds():
    for seconds in (946684800, 1765018800, 4102444800):  # 2000, now, 2100
        assert parse_time(seconds, bounded=False) == parse_time(seconds * 1000, bounded=False)


@pytest.mark.parametrize("raw, message", [
    # The one that went wrong: epoch seconds read as milliseconds, a fill booked on 1970-01-21.
    (0, "0 read as epoch seconds = 1970-01-01T00:00:00Z, which is before 2000-01-01"),
    (1765018, "1765018 read as epoch seconds = 1970-01-21T10:16:58Z, which is before 2000-01-01"),
    (-5, "-5 read as epoch seconds = 1969-12-31T23:59:55Z, which is before 2000-01-01"),
    ("1999-12-31T23:59:59Z", "'1999-12-31T23:59:59Z' read as ISO 8601 = 1999-12-31T23:59:59Z, which is before"),
    (1765018800000 * 1000, "1765018800000000 read as epoch milliseconds is out of the calendar's range"),
    ("2026-12-07T13:00:01Z", "which is more than a day ahead of the server's clock (2026-12-06T13:00:00Z)"),
    ("9999-12-31T23:59:59-14:00", "out of the calendar's range"),  # once a 500
    ("0001-01-01T00:00:00+05:00", "out of the calendar's range"),
    (Decimal("1E+999999999"), "past the year 9999"),  # once a worker stuck computing a billion digits
    (10**40, "past the year 9999"),
    ("x" * 65, "65 characters long"),
    (" 1765018800", "is not a time"), ("1_765_018_800", "is not a time"), ("+1765018800", "is not a time"),
    ("١٧٦٥٠١٨٨٠٠", "is not a time"),  # Arabic-Indic digits
    ("yesterday", "is not a time"), ("", "is not a time"), ("2026-13-01T00:00:00", "is not a time"),
    (None, "must be a time"), (True, "must be a time"), ({"ms": 1}, "must be a time"),
    (float("nan"), "is not a time"), (float("inf"), "is not a time"), (Decimal("NaN"), "is not a time"),
])
def test_a_time_out_of_range_or_not_a_time_is_refused_saying_how_it_was_read(raw, message):
    with pytest.raises(BadValue) as caught:
        parse_time(raw, now=NOW)
    assert message in str(caught.value)
    assert "send ISO 8601 (e.g. 2026-01-01T12:00:00Z), epoch seconds or epoch milliseconds" in str(caught.value)


def test_the_message_of_the_brief():
    with pytest.raises(BadValue) as caught:
        parse_time(1765018800, now=datetime(2025, 1, 1, tzinfo=UTC))
    assert str(caught.value).startswith("1765018800 read as epoch seconds = 2025-12-06T11:00:00Z, which is more "
                                        "than a day ahead of the server's clock (2025-01-01T00:00:00Z)")


def test_query_bounds_take_any_real_time_and_refuse_past_the_calendar():
    assert parse_time("1990-01-01T00:00:00Z", bounded=False) == datetime(1990, 1, 1, tzinfo=UTC)
    assert parse_time("2100-01-01", bounded=False) == datetime(2100, 1, 1, tzinfo=UTC)  # a date: its midnight
    with pytest.raises(BadValue, match="out of the calendar's range"):
        parse_time("9999-12-31T23:59:59-14:00", bounded=False)
