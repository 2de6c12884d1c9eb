"""Items as tradebook takes them: light checks, exact numbers, UTC times, JSON text.

Every item is turned into its JSON text once, when it is queued: that text is what is
spooled and what every retry sends, byte for byte, so a retry is the same request.
"""

from __future__ import annotations

import json
import math
import numbers
import re
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Callable, Dict, Mapping, Tuple

from .errors import ItemError

AMOUNT = "amount"
TIME = "time"
INT = "int"
FEES = "fees"

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # SPEC 3: an earlier time is a mistake (a wrong unit)
EPOCH_MS_FROM = Decimal(10) ** 11  # SPEC 3: epoch numbers from 10^11 on are milliseconds

# ASCII digits only: `\d` would take other scripts' digits, which tradebook refuses (SPEC 3).
_DECIMAL_TEXT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\Z")
_EPOCH_TEXT = re.compile(r"[0-9]+(?:\.[0-9]+)?\Z")
_ISO_TIME = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})"
    r"(?:[T ](?P<h>[0-9]{2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2})(?:[.,](?P<f>[0-9]+))?)?)?"
    r"\s*(?P<tz>Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)?\Z"
)

# Per type: field -> kind, for the fields whose values the client rewrites (SPEC 4.1).
# Any other field goes out as given (tradebook keeps unknown ones in `meta`).
_FIELDS: Dict[str, Dict[str, str]] = {
    "fill": {"price": AMOUNT, "quantity": AMOUNT, "fee": AMOUNT, "reported_pnl": AMOUNT, "fees": FEES,
             "executed_at": TIME},
    "order": {"price": AMOUNT, "quantity": AMOUNT, "filled_quantity": AMOUNT, "average_price": AMOUNT,
              "updated_at": TIME},
    "trade.open": {"quantity": AMOUNT, "entry_price": AMOUNT, "leverage": AMOUNT, "margin": AMOUNT,
                   "sl_price": AMOUNT, "tp_price": AMOUNT, "trail_percent": AMOUNT, "confidence": AMOUNT,
                   "entry_fee": AMOUNT, "entry_time": TIME},
    "trade.update": {"sl_price": AMOUNT, "tp_price": AMOUNT, "trail_percent": AMOUNT, "leverage": AMOUNT,
                     "margin": AMOUNT, "confidence": AMOUNT},
    "trade.close": {"exit_price": AMOUNT, "exit_fee": AMOUNT, "reported_pnl": AMOUNT, "exit_time": TIME},
    "signal": {"value": INT, "strength": AMOUNT, "generated_at": TIME},
    "position": {"size": AMOUNT, "entry_price": AMOUNT, "mark_price": AMOUNT, "liq_price": AMOUNT,
                 "unrealized_pnl": AMOUNT, "realized_pnl": AMOUNT, "leverage": AMOUNT, "exchange_ts": TIME},
    "wallet": {"wallet_balance": AMOUNT, "available_balance": AMOUNT, "equity": AMOUNT, "exchange_ts": TIME},
    "equity": {"equity": AMOUNT, "cash": AMOUNT, "positions_value": AMOUNT, "initial_capital": AMOUNT,
               "returns_pct": AMOUNT, "realized_pnl": AMOUNT, "unrealized_pnl": AMOUNT, "fees": AMOUNT,
               "funding": AMOUNT, "positions_count": INT, "total_trades": INT, "exchange_ts": TIME},
    "cashflow": {"amount": AMOUNT, "ts": TIME},
    "mark": {"price": AMOUNT, "ts": TIME},
    "log": {"ts": TIME},
    # The older JSONL lines (SPEC 8), posted as they are by tradebook_client.compat.
    "trade": {"price": AMOUNT, "quantity": AMOUNT, "commission": AMOUNT, "pnl": AMOUNT, "timestamp": TIME},
    "metric": {"equity": AMOUNT, "cash": AMOUNT, "positions_value": AMOUNT, "initial_capital": AMOUNT,
               "returns_pct": AMOUNT, "positions_count": INT, "total_trades": INT, "timestamp": TIME},
    "legacy.position": {"quantity": AMOUNT, "entry_price": AMOUNT, "current_price": AMOUNT,
                        "unrealized_pnl": AMOUNT, "timestamp": TIME},
}

REQUIRED: Dict[str, Tuple[str, ...]] = {
    "fill": ("id", "symbol", "side", "price", "quantity", "executed_at"),
    "order": ("id", "symbol", "side", "status", "updated_at"),
    "trade.open": ("id", "symbol", "side", "quantity", "entry_price", "entry_time"),
    "trade.update": ("id",),
    "trade.close": ("id", "exit_price", "exit_time"),
    "signal": ("symbol", "value", "generated_at"),
    "position": ("symbol", "side", "size", "exchange_ts"),
    "wallet": ("coin", "wallet_balance", "exchange_ts"),
    "equity": ("equity", "exchange_ts"),
    "cashflow": ("id", "kind", "amount", "currency", "ts"),
    "mark": ("symbol", "price", "ts"),
    "log": ("message",),
    "trade": ("symbol", "side", "price", "quantity"),
    "metric": ("equity",),
    "legacy.position": ("symbol", "quantity"),
}

# Closed sets worth refusing at the call (a typo here would otherwise come back as a rejection).
_CHOICES: Dict[str, Tuple[Tuple[str, Tuple[Any, ...]], ...]] = {
    "fill": (("side", ("buy", "sell")),),
    "order": (("side", ("buy", "sell")),),
    "trade.open": (("side", ("long", "short")),),
    "position": (("side", ("long", "short", "flat")),),
    "signal": (("value", (1, 0, -1)),),
}

TYPES = tuple(t for t in _FIELDS if t not in ("trade", "metric", "legacy.position"))
# Items without a natural key: the client gives them an id once, so a retry is the same item.
NEEDS_CLIENT_ID = ("signal", "log")


def client_id() -> str:
    return "c-" + uuid.uuid4().hex


# --- numbers -----------------------------------------------------------------------


def _plain(number: Decimal) -> str:
    """A finite Decimal as exact text without an exponent where that stays short."""
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -40 <= exponent and number.adjusted() <= 40:
        return format(number, "f")
    return str(number)  # far out of numeric(38,18) anyway: tradebook answers 400, kept aside


def amount_text(value: Any, field: str = "amount") -> str:
    """Decimal, str, int or float -> exact decimal text. A float goes out as its shortest
    repr (0.1 -> "0.1"), never as the binary expansion (0.1000000000000000055...)."""
    kind = type(value)
    if kind is str:
        if not _DECIMAL_TEXT.match(value):
            raise ItemError(field, f"{value!r} is not a decimal number (ASCII digits, one '.', an optional exponent)")
        return str(value)
    if kind is Decimal:
        if not value.is_finite():
            raise ItemError(field, f"{value} is not a finite number")
        return _plain(value)
    if kind is int:
        return str(value)
    if kind is float:
        text = repr(value)  # the shortest decimal that reads back as this float
        if "e" not in text and "n" not in text:  # plain digits (not 1e-08, inf, nan)
            return text
        if not math.isfinite(value):
            raise ItemError(field, f"{value} is not a finite number")
        return _plain(Decimal(text))
    if isinstance(value, bool) or value is None:
        raise ItemError(field, "must be a decimal number")
    # Subclasses and foreign numbers (numpy and the like).
    if isinstance(value, Decimal):
        return amount_text(Decimal(value), field)
    if isinstance(value, str):
        return amount_text(str(value), field)
    if isinstance(value, float):
        return amount_text(float(value), field)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        # str() of numpy's floats is their shortest repr in their own precision.
        return amount_text(str(value), field)
    raise ItemError(field, f"must be a decimal number, not {type(value).__name__}")


def int_value(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise ItemError(field, "must be a whole number")
    try:
        number = Decimal(amount_text(value, field))
    except ItemError:
        raise ItemError(field, f"{value!r} is not a whole number")
    if number != number.to_integral_value():
        raise ItemError(field, f"{value!r} is not a whole number")
    return int(number)


# --- times -------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def _from_epoch(number: Decimal, field: str, given: Any) -> datetime:
    if number.copy_abs() < EPOCH_MS_FROM:
        unit, micros = "seconds", number * 1_000_000
    else:
        unit, micros = "milliseconds", number * 1_000
    try:
        moment = EPOCH + timedelta(microseconds=int(micros.to_integral_value(ROUND_HALF_EVEN)))
    except (OverflowError, ValueError):
        raise ItemError(field, f"{given!r} read as epoch {unit} is out of range")
    if moment < EARLIEST:
        raise ItemError(field, f"{given!r} read as epoch {unit} is {_iso(moment)}, before 2000-01-01")
    return moment


def to_datetime(value: Any, field: str = "time") -> datetime:
    """An aware UTC datetime from a datetime (naive = UTC), a date, epoch seconds (below 1e11)
    or milliseconds (from 1e11 on) as a number or digit string, or an ISO 8601 string."""
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, str):
        text = value.strip()
        if _EPOCH_TEXT.match(text):
            return _from_epoch(Decimal(text), field, value)
        moment = _parse_iso(text, field)
    elif isinstance(value, bool) or value is None:
        raise ItemError(field, "must be a time: datetime, epoch seconds or milliseconds, or ISO 8601")
    elif isinstance(value, (int, float, Decimal, numbers.Real)):
        try:
            number = Decimal(amount_text(value, field))
        except (ItemError, InvalidOperation):
            raise ItemError(field, f"{value!r} is not a time")
        return _from_epoch(number, field, value)
    else:
        raise ItemError(field, f"must be a time, not {type(value).__name__}")
    if moment < EARLIEST:
        raise ItemError(field, f"{value!r} is {_iso(moment)}, before 2000-01-01")
    return moment


def _parse_iso(text: str, field: str) -> datetime:
    try:
        # C-fast for the usual shapes; Python before 3.11 refuses "Z" and some others: the regex reads them.
        moment = datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).astimezone(UTC)
    found = _ISO_TIME.match(text)
    if not found:
        raise ItemError(field, f"{text!r} is not an ISO 8601 time")
    parts = found.groupdict()
    fraction = (parts["f"] or "")[:6].ljust(6, "0")  # microseconds, as tradebook keeps them
    zone = parts["tz"]
    if zone is None or zone in ("Z", "z"):
        tz = UTC
    else:
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        tz = timezone(-offset if zone[0] == "-" else offset)
    try:
        moment = datetime(int(parts["y"]), int(parts["mo"]), int(parts["d"]), int(parts["h"] or 0),
                          int(parts["mi"] or 0), int(parts["s"] or 0), int(fraction), tzinfo=tz)
    except ValueError as exc:
        raise ItemError(field, f"{text!r} is not a valid time: {exc}")
    return moment.astimezone(UTC)


# 2024-01-01T00:00:00Z, …00.123456Z, …00+00:00, …00.123456+00:00
_UTC_ISO_LENGTHS = (20, 27, 25, 32)
_UTC_SUFFIXES = ("Z", "+00:00")


def time_text(value: Any, field: str = "time") -> str:
    if type(value) is str and len(value) in _UTC_ISO_LENGTHS and value[10] == "T" and value.endswith(_UTC_SUFFIXES):
        to_datetime(value, field)  # checked; already full ISO 8601 in UTC, so sent as given
        return value
    return _iso(to_datetime(value, field))


# --- items -------------------------------------------------------------------------


def _fees(value: Any, field: str) -> Any:
    if not isinstance(value, (list, tuple)):
        raise ItemError(field, 'must be a list of {"amount", "currency"}')
    out = []
    for position, fee in enumerate(value):
        if not isinstance(fee, Mapping) or "amount" not in fee:
            raise ItemError(field, f'[{position}] must be {{"amount", "currency"}}')
        out.append({**fee, "amount": amount_text(fee["amount"], f"{field}[{position}].amount")})
    return out


_CONVERT: Dict[str, Callable[[Any, str], Any]] = {AMOUNT: amount_text, TIME: time_text, INT: int_value, FEES: _fees}
# Per type: field -> its converter, looked up once per field on the hot path.
_CONVERTERS: Dict[str, Dict[str, Callable[[Any, str], Any]]] = {
    kind: {name: _CONVERT[what] for name, what in fields.items()} for kind, fields in _FIELDS.items()
}


def normalize(kind: str, item: Mapping[str, Any]) -> Dict[str, Any]:
    """A new dict: `type` first, then the fields with numbers and times rewritten.

    `kind` is the event type, or one of the older lines (`trade`, `metric`,
    `legacy.position`, posted with type `position`). Raises ItemError for a missing
    required field or a value that cannot be read."""
    converters = _CONVERTERS[kind]
    out: Dict[str, Any] = {"type": "position" if kind == "legacy.position" else kind}
    for name, value in item.items():
        if name == "type":
            continue
        convert = converters.get(name)
        if convert is not None and value is not None:
            value = convert(value, name)
        out[name] = value
    for name in REQUIRED[kind]:
        if out.get(name) is None or out[name] == "":
            raise ItemError(name, f"is required for a {out['type']} item")
    for name, allowed in _CHOICES.get(kind, ()):
        if name in out and out[name] not in allowed:
            raise ItemError(name, f"must be one of {', '.join(map(str, allowed))}, not {out[name]!r}")
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return amount_text(value)
    if isinstance(value, datetime):
        return _iso(value if value.tzinfo else value.replace(tzinfo=UTC))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default).encode


def to_json(item: Mapping[str, Any]) -> str:
    try:
        return _encode(item)
    except (TypeError, ValueError) as exc:
        raise ItemError(None, f"cannot be sent as JSON: {exc}")


def loads(text: str | bytes) -> Any:
    """JSON with every number exact: decimals as Decimal (tradebook's amounts are strings, but
    a number in `meta` or `raw` keeps its digits too)."""
    return json.loads(text, parse_float=Decimal)
