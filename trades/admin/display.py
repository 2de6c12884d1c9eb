"""The one display rule of the admin: how a figure is written for a person.

Every changelist column, detail field, table, tile and chart tooltip of the admin goes through
these functions (templates through the `tradebook` template filters, which call them):

- money in the account's currency with 2 decimals and thousands separators: `1,234.56 USDT`
  (an amount in another currency — a fee paid in BNB, a BTC balance — is written as a quantity
  with its currency: two decimals would turn 0.00012 BTC into 0.00);
- a non-zero amount that two decimals would show as 0.00 (a fee of 0.0034) keeps its first
  significant digits, so a paid fee never reads as free;
- prices and quantities without padding zeros, with thousands separators: `61,980.9`, `0.00012`;
- percents with `%`; ratios with 2 decimals;
- gains green and losses red (`tone`, `signed`);
- times in UTC with the zone shown: `2026-01-03 14:22:05 UTC`;
- never a Python repr: a value these functions do not know is written with `str`.

The API and the exports keep every digit; this module is for reading only.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.amounts import AMOUNT_CONTEXT, decimal_str

EMPTY = "—"
CENT = Decimal("0.01")
SMALL_PLACES = 8  # the most decimals a tiny money amount keeps


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _group(text: str) -> str:
    """Thousands separators in the integer part of a plain decimal text ('-1234.5' -> '-1,234.5')."""
    sign = "-" if text.startswith("-") else ""
    text = text.lstrip("-")
    whole, _, frac = text.partition(".")
    whole = f"{int(whole):,}" if whole else "0"
    return sign + whole + ("." + frac if frac else "")


def number(value) -> str:
    """A price or quantity: every significant digit, no padding zeros, thousands separators."""
    d = _decimal(value)
    if d is None:
        return EMPTY if value is None or value == "" else str(value)
    return _group(decimal_str(d))


def _money_text(d: Decimal, *, signed: bool = False) -> str:
    rounded = d.quantize(CENT, rounding=ROUND_HALF_EVEN, context=AMOUNT_CONTEXT)
    if rounded == 0 and d != 0:
        # Two decimals would write 0.00: keep two significant digits (at most 8 places).
        places = min(SMALL_PLACES, -d.adjusted() + 1)
        small = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN, context=AMOUNT_CONTEXT)
        if small == 0:
            return ("-" if d < 0 else "") + "<0.00000001"
        text = decimal_str(small)
    else:
        text = _group(f"{rounded:f}") if rounded != 0 else "0.00"
    if signed and d > 0:
        text = "+" + text
    return text


def money(value, currency: str = "", *, signed: bool = False) -> str:
    """An amount in the account's currency: 2 decimals, thousands separators, the currency after."""
    d = _decimal(value)
    if d is None:
        return EMPTY if value is None or value == "" else str(value)
    text = _money_text(d, signed=signed)
    return f"{text} {currency}" if currency else text


def amount(value, currency: str = "", base: str = "", *, signed: bool = False) -> str:
    """An amount in `currency`: money when it is the account's base currency, else a quantity."""
    if not currency or not base or currency.upper() == base.upper():
        return money(value, currency, signed=signed)
    d = _decimal(value)
    if d is None:
        return EMPTY
    text = number(d)
    if signed and d > 0:
        text = "+" + text
    return f"{text} {currency}"


def percent(value, *, signed: bool = False, places: int = 2) -> str:
    """A percent (the books' percents are percents already): '12.34%'."""
    d = _decimal(value)
    if d is None:
        return EMPTY
    rounded = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN, context=AMOUNT_CONTEXT)
    text = _group(f"{abs(rounded) if rounded == 0 else rounded:f}")  # never '-0.00%'
    if signed and rounded > 0:
        text = "+" + text
    return text + "%"


def ratio(value) -> str:
    """A ratio (profit factor, Sharpe): 2 decimals, no unit."""
    d = _decimal(value)
    if d is None:
        return EMPTY
    rounded = d.quantize(CENT, rounding=ROUND_HALF_EVEN, context=AMOUNT_CONTEXT)
    return _group(f"{abs(rounded) if rounded == 0 else rounded:f}")


def count(value) -> str:
    if value is None:
        return EMPTY
    return f"{int(value):,}"


def tone(value) -> str:
    """The CSS class of a gain or a loss ('' for zero or nothing)."""
    d = _decimal(value)
    if d is None or d == 0:
        return ""
    return "tb-gain" if d > 0 else "tb-loss"


def toned(text: str, value) -> SafeString:
    """`text` coloured by the sign of `value`."""
    css = tone(value)
    if not css:
        return format_html('<span class="tb-num">{}</span>', text)
    return format_html('<span class="tb-num {}">{}</span>', css, text)


def num(text: str) -> SafeString:
    """A figure that is not a gain or a loss (right-aligned in tables)."""
    return format_html('<span class="tb-num">{}</span>', text)


def when(value, *, zone: bool = True, seconds: bool = True) -> str:
    """A time in UTC, with its zone: '2026-01-03 14:22:05 UTC'."""
    if value is None:
        return EMPTY
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        text = moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
        return f"{text} UTC" if zone else text
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def duration(value: timedelta | None) -> str:
    """How long, as traders write it: '3d 4h', '5h 12m', '42m', '35s'."""
    if value is None:
        return EMPTY
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes}m"
    if minutes:
        return f"{sign}{minutes}m"
    return f"{sign}{secs}s"


def age(value: datetime | None, now: datetime) -> str:
    """How long ago: '12 min ago'."""
    if value is None:
        return EMPTY
    return f"{duration(now - value)} ago"


_PADDED = re.compile(r"\b(\d+)\.(\d*?)0+\b")


def label(obj) -> str:
    """A row's name (its model's str) with the zeros that pad its amounts taken off: the models
    write `buy 0.500000000000000000 BTCUSDT`, a person reads `buy 0.5 BTCUSDT`."""
    return _PADDED.sub(lambda m: m[1] + ("." + m[2] if m[2] else ""), str(obj))


class _Raw(str):
    """A JSON number's text, written back as it was read."""


def pretty_json_text(text: str) -> str:
    """Stored JSON text indented for reading, every number written exactly as stored."""
    try:
        value = json.loads(text, parse_float=_Raw, parse_int=_Raw)
    except (ValueError, TypeError):
        return text
    out: list[str] = []
    _pretty(value, out, 0)
    return "".join(out)


def pretty_value(value) -> str:
    """A decoded JSON value (a JSONField's) indented for reading; Decimals written digit for digit."""
    out: list[str] = []
    _pretty(value, out, 0)
    return "".join(out)


def _pretty(value, out: list[str], depth: int) -> None:
    pad, inner = "  " * depth, "  " * (depth + 1)
    if isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        out.append("{\n")
        for position, (key, item) in enumerate(value.items()):
            out.append(("," + "\n" if position else "") + inner + json.dumps(str(key), ensure_ascii=False) + ": ")
            _pretty(item, out, depth + 1)
        out.append("\n" + pad + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        out.append("[\n")
        for position, item in enumerate(value):
            out.append(("," + "\n" if position else "") + inner)
            _pretty(item, out, depth + 1)
        out.append("\n" + pad + "]")
    elif isinstance(value, _Raw):
        out.append(str.__str__(value))
    elif isinstance(value, Decimal):
        out.append(decimal_str(value) if value.is_finite() else json.dumps(str(value)))
    elif value is None or isinstance(value, bool | int | float | str):
        out.append(json.dumps(value, ensure_ascii=False))
    else:
        out.append(json.dumps(str(value), ensure_ascii=False))


def json_block(text: str) -> SafeString:
    """Pretty JSON in a wrapped, scrollable block."""
    return format_html('<pre class="tb-json">{}</pre>', text)
