"""Times: what a posted time may be, read as an aware UTC datetime (SPEC 3).

A time is ISO 8601 text (a naive time is UTC) or an epoch number: below 10^11 it is
seconds (a bot's `time.time()`, a fraction allowed), from 10^11 on milliseconds. Every
real time since 1973 reads the same either way round, so no time is ambiguous. A posted
time must lie between 2000-01-01 and a day past the server's clock: anything else is a
unit mistake (a 1970 fill) or a typo, refused with how it was read.
"""

import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from django.utils.dateparse import parse_datetime

from core.errors import BadValue

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_MS_FROM = 10**11  # an epoch number from here on is milliseconds (10^11 s is the year 5138)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
AHEAD = timedelta(days=1)  # how far past the server's clock a posted time may be (clocks drift)
# ISO 8601 with a fraction and an offset is 32 characters; refuse long texts before reading them.
MAX_TIME_TEXT = 64
# An epoch number written as text: ASCII digits, a fraction (seconds from time.time()).
EPOCH_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
FORMS = "send ISO 8601 (e.g. 2026-01-01T12:00:00Z), epoch seconds or epoch milliseconds"
_MICRO = Decimal(1_000_000)
_ROUGH_LIMIT = Decimal(10) ** 20  # past any datetime in seconds or milliseconds: refused unread


def parse_time(value, *, bounded: bool = True, now: datetime | None = None) -> datetime:
    """ISO 8601 (naive = UTC) or an epoch number (seconds below 10^11, else milliseconds) -> aware UTC.

    `bounded` (every posted item): a time before 2000-01-01 or more than a day past `now` (the
    server's clock) is refused, saying how it was read. Query bounds (`since`, `until`) are not
    bounded: any real time is a fair bound. Raises BadValue; never anything else.
    """
    if isinstance(value, bool) or value is None:
        raise BadValue(f"must be a time: {FORMS}")
    if isinstance(value, int):
        return _epoch(Decimal(value) if value.bit_length() < 80 else _ROUGH_LIMIT, str(value), bounded, now)
    if isinstance(value, Decimal):
        return _epoch(value, str(value), bounded, now)
    if isinstance(value, float):  # a body not parsed exactly: read the float's shortest text
        return _epoch(Decimal(repr(value)) if value == value else Decimal("NaN"), repr(value), bounded, now)
    if not isinstance(value, str):
        raise BadValue(f"must be a time: {FORMS}")
    if len(value) > MAX_TIME_TEXT:
        raise BadValue(f"is {len(value)} characters long; a time has at most {MAX_TIME_TEXT}: {FORMS}")
    if ":" not in value and EPOCH_TEXT.fullmatch(value):  # an ISO time has a ':' (or is a date alone)
        return _epoch(Decimal(value), value, bounded, now)
    return _iso(value, bounded, now)


def _epoch(number: Decimal, shown: str, bounded: bool, now: datetime | None) -> datetime:
    if not number.is_finite():
        raise BadValue(f"{shown} is not a time: {FORMS}")
    if number.copy_abs() >= _ROUGH_LIMIT:
        raise BadValue(f"{shown} is not a time: as epoch milliseconds it is past the year 9999; {FORMS}")
    unit = "seconds" if number < EPOCH_MS_FROM else "milliseconds"
    seconds = number if unit == "seconds" else number / 1000
    try:
        micros = int((seconds * _MICRO).to_integral_value(rounding=ROUND_HALF_EVEN))
        at = EPOCH + timedelta(microseconds=micros)
    except (OverflowError, InvalidOperation):
        raise BadValue(f"{shown} read as epoch {unit} is out of the calendar's range: {FORMS}")
    if bounded:
        _check_range(at, f"{shown} read as epoch {unit}", now)
    return at


def _iso(text: str, bounded: bool, now: datetime | None) -> datetime:
    try:
        parsed = parse_datetime(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise BadValue(f"{text!r} is not a time: {FORMS}")
    if parsed.tzinfo is None:
        at = parsed.replace(tzinfo=UTC)
    else:
        try:
            at = parsed.astimezone(UTC)
        except OverflowError:  # year 1 or 9999 with an offset: no such instant in the calendar
            raise BadValue(f"{text!r} read as ISO 8601 is out of the calendar's range (years 1 to 9999 in UTC): "
                           f"{FORMS}")
    if bounded:
        _check_range(at, f"{text!r} read as ISO 8601", now)
    return at


def _check_range(at: datetime, read_as: str, now: datetime | None) -> None:
    if at < EARLIEST:
        raise BadValue(f"{read_as} = {iso(at)}, which is before 2000-01-01: {FORMS}")
    now = datetime.now(UTC) if now is None else now  # timezone.now() without its settings look-up (USE_TZ is on)
    if at > now + AHEAD:
        raise BadValue(f"{read_as} = {iso(at)}, which is more than a day ahead of the server's clock "
                       f"({iso(now)}): {FORMS}")


def iso(at: datetime) -> str:
    """An aware time as ISO 8601 UTC with a Z, microseconds only where there are any."""
    text = at.astimezone(UTC).replace(tzinfo=None).isoformat()
    return text + "Z"
