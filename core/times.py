"""Times: what a posted time may be, read as an aware UTC datetime (SPEC 3)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils.dateparse import parse_datetime

from core.errors import BadValue


def parse_time(value) -> datetime:
    """ISO 8601 (naive = UTC) or integer epoch milliseconds -> aware UTC datetime."""
    if isinstance(value, bool) or value is None:
        raise BadValue("must be an ISO 8601 time or epoch milliseconds")
    if isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise BadValue("epoch milliseconds must be a whole number")
        value = int(value)
    if isinstance(value, int):
        try:
            return datetime.fromtimestamp(value // 1000, tz=UTC) + timedelta(milliseconds=value % 1000)
        except (OverflowError, OSError, ValueError):
            raise BadValue(f"{value} is out of range for epoch milliseconds")
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return parse_time(int(text))
        try:
            parsed = parse_datetime(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            parsed = None
        if parsed is None:
            raise BadValue(f"{value!r} is not an ISO 8601 time")
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    raise BadValue("must be an ISO 8601 time or epoch milliseconds")
