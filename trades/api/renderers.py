"""JSON out, fast (orjson), with every Decimal as its exact string and every integer exact.

orjson refuses integers past 64 bits; an item may carry one (an exchange id posted as a JSON
integer, a big number among the fields kept in `meta`), and what was stored must read back.
Such an answer is written by the exact writer below instead: every integer a JSON number with
all its digits (as it was posted), every Decimal a string, as in every other answer.
"""

from datetime import date, datetime, time
from decimal import Decimal

import orjson
from rest_framework import renderers

from core.amounts import decimal_str

OPTIONS = orjson.OPT_NON_STR_KEYS
# Decimals in this exponent range are written without an exponent ('0.00001', '100'): every
# amount is. Others (a number kept in meta, e.g. 1e-90) keep their exponent: written out,
# they would be dozens of zeros, and `decimal_str` of 1e100 is 101 characters.
PLAIN_EXPONENTS = range(-40, 41)


def decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        return str(value)
    if value and value.adjusted() not in PLAIN_EXPONENTS:
        return str(value.normalize())
    return decimal_str(value)


def _default(value):
    if isinstance(value, Decimal):
        return decimal_text(value)
    if hasattr(value, "__str__"):  # lazy translation strings, ErrorDetail and the like
        return str(value)
    raise TypeError


def dumps(data) -> bytes:
    """`data` as JSON bytes: orjson's, or the exact writer's where orjson refuses an integer."""
    try:
        return orjson.dumps(data, default=_default, option=OPTIONS)
    except orjson.JSONEncodeError:
        out: list[bytes] = []
        _write(data, out)
        return b"".join(out)


def _write(value, out: list[bytes]) -> None:
    """What orjson writes, except that an integer of any size is written with all its digits."""
    if isinstance(value, dict):
        out.append(b"{")
        for position, (key, item) in enumerate(value.items()):
            if position:
                out.append(b",")
            out.append(orjson.dumps(key if isinstance(key, str) else _key(key)))
            out.append(b":")
            _write(item, out)
        out.append(b"}")
    elif isinstance(value, (list, tuple)):
        out.append(b"[")
        for position, item in enumerate(value):
            if position:
                out.append(b",")
            _write(item, out)
        out.append(b"]")
    elif isinstance(value, int) and not isinstance(value, bool):
        out.append(str(value).encode())
    else:
        out.append(orjson.dumps(value, default=_default, option=OPTIONS))


def _key(key) -> str:
    # What OPT_NON_STR_KEYS makes of a key.
    if isinstance(key, (datetime, date, time)):
        return key.isoformat()
    if isinstance(key, Decimal):
        return decimal_text(key)
    return str(key).lower() if isinstance(key, bool) else str(key) if key is not None else "null"


class ExactJSONRenderer(renderers.BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        return dumps(data)
