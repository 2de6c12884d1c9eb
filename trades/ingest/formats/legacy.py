"""The older JSONL lines of SPEC 8, as bots wrote `events.jsonl` before the API.

Three line types differ from the canonical items of SPEC 4.1:

- `trade`: a fill without an id. Its key is derived from its content, so importing
  the same file twice adds nothing. Its `commission` is the fill's fee in the account's
  base currency (a fee without a currency is booked in the base currency), its `pnl` the
  fill's reported PnL: a paper engine's fills keep their fees.
- `metric`: an equity snapshot (equity, cash, positions_value, positions_count,
  total_trades, initial_capital, returns_pct).
- `position` with `quantity` (signed) and `current_price` instead of side/size/mark_price.

Every one of them carries `bot_id` (→ `bot`) and `timestamp` (→ the type's time
field). Fields not named here pass through unchanged; ingest keeps the ones it does
not know in `meta`. Any other item is returned as it is.
"""

import hashlib
import json

from core.amounts import decimal_str, parse_amount
from core.errors import BadValue
from core.times import parse_time

# The time field of each canonical type: where a legacy `timestamp` goes, and what
# a line without `timestamp` may inherit from (fill_missing_timestamps).
TIME_FIELDS = {
    "fill": "executed_at",
    "order": "updated_at",
    "trade.open": "entry_time",
    "trade.update": "updated_at",
    "trade.close": "exit_time",
    "signal": "generated_at",
    "position": "exchange_ts",
    "wallet": "exchange_ts",
    "equity": "exchange_ts",
    "cashflow": "ts",
    "mark": "ts",
    "log": "ts",
}

LEGACY_ID_PREFIX = "legacy-"


def is_legacy(item) -> bool:
    """True for the three older line shapes (which `translate` rewrites)."""
    if not isinstance(item, dict):
        return False
    kind = item.get("type")
    if not isinstance(kind, str):
        return False  # ingest names a type that is not text
    if kind in ("trade", "metric"):
        return True
    # A canonical position has `size`/`side`; the older one a signed `quantity`.
    return kind == "position" and "size" not in item and ("quantity" in item or "current_price" in item)


def translate(item: dict) -> dict:
    """One older line → one canonical item; any other item unchanged (the same object).

    The one exception: an item of a canonical type written in the older style, with
    `timestamp` and without its type's time field, gets `timestamp` as that field.
    """
    if not is_legacy(item):
        if isinstance(item, dict) and "timestamp" in item and isinstance(item.get("type"), str):
            field = TIME_FIELDS.get(item["type"])
            if field is not None and field not in item:
                out = {k: v for k, v in item.items() if k != "timestamp"}
                out[field] = item["timestamp"]
                return out
        return item
    kind = item["type"]
    if kind == "trade":
        return _trade(item)
    if kind == "metric":
        return _renamed(item, "equity")
    return _position(item)


def fill_missing_timestamps(items: list) -> list:
    """Give each line without a time the previous line's (SPEC 8: "a line without
    `timestamp` takes the previous line's").

    A line's time is its `timestamp` or its type's time field (`executed_at`, …).
    Stateful over the sequence, so it runs on a whole file or request before
    `translate`. Lines of an unknown type are left alone (ingest names the type).
    Returns a new list; items that change are copies.
    """
    out = []
    last = None
    for item in items:
        if isinstance(item, dict):
            field = _time_field(item)
            own = item.get("timestamp")
            if own is None and field is not None:
                own = item.get(field)
            if own is not None:
                last = own
            elif field is not None and last is not None:
                item = {**item, "timestamp": last}
        out.append(item)
    return out


def key_unkeyed_signals(items: list[dict]) -> list[dict]:
    """Give a signal posted without `id` a key derived from its content.

    Over the API a signal without id is a new signal each time (SPEC 4.1); a file,
    though, must be safe to import twice (SPEC 8), so there the line's content is its key.
    """
    out = []
    for item in items:
        if isinstance(item, dict) and item.get("type") == "signal" and item.get("id") in (None, ""):
            text = json.dumps(item, sort_keys=True, default=str, separators=(",", ":"))
            item = {**item, "id": "import-" + hashlib.sha256(text.encode()).hexdigest()[:40]}
        out.append(item)
    return out


def _time_field(item: dict) -> str | None:
    """Where this line's time goes once translated (None for an unknown type)."""
    kind = item.get("type")
    if not isinstance(kind, str):
        return None
    if kind == "trade":
        return "executed_at"
    if kind == "metric":
        return "exchange_ts"
    return TIME_FIELDS.get(kind)


def derived_fill_id(item: dict) -> str:
    """A deterministic key from a legacy fill's content: the same line always gives the same id.

    Amounts and times are canonicalised first, so `0.10` and `"0.1"`, or an ISO
    time and the same instant in epoch ms, give one id.
    """
    parts = [
        _text(item.get("bot_id", item.get("bot"))),
        _text(item.get("symbol")),
        _text(item.get("side")).lower(),
        _amount_text(item.get("price")),
        _amount_text(item.get("quantity")),
        _time_text(item.get("timestamp", item.get("executed_at"))),
    ]
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()
    return LEGACY_ID_PREFIX + digest[:40]


def _renamed(item: dict, new_type: str) -> dict:
    out = {k: v for k, v in item.items() if k not in ("type", "bot_id", "timestamp")}
    out["type"] = new_type
    if "bot_id" in item and "bot" not in item:
        out["bot"] = item["bot_id"]
    time_field = TIME_FIELDS[new_type]
    if "timestamp" in item and time_field not in item:
        out[time_field] = item["timestamp"]
    return out


def _trade(item: dict) -> dict:
    out = _renamed(item, "fill")
    if not out.get("id"):
        out["id"] = derived_fill_id(item)
    if isinstance(out.get("side"), str):
        out["side"] = out["side"].lower()
    # SPEC 8: `commission` is the fee in the account's base currency (no fee_currency: the books
    # book a fee without one in the base currency), `pnl` the reported PnL. A line that also
    # names the canonical field keeps it, and the older one in meta, where nothing is lost.
    for older, canonical in (("commission", "fee"), ("pnl", "reported_pnl")):
        if older not in out:
            continue
        value = out.pop(older)
        if canonical not in out:
            out[canonical] = value
        elif isinstance(out.get("meta", {}), dict):
            out["meta"] = {**out.get("meta", {}), older: value}
        else:
            out[older] = value  # ingest refuses a meta that is not an object, and names it
    return out


def _position(item: dict) -> dict:
    out = _renamed(item, "position")
    quantity = out.pop("quantity", None)
    if "current_price" in out and "mark_price" not in out:
        out["mark_price"] = out.pop("current_price")
    if quantity is None:
        return out  # ingest reports the missing size
    try:
        signed = parse_amount(quantity)
    except BadValue:
        out["size"] = quantity  # let ingest name the bad field
        return out
    out.setdefault("side", "long" if signed > 0 else "short" if signed < 0 else "flat")
    out["size"] = decimal_str(abs(signed))
    return out


def _text(value) -> str:
    return "" if value is None else str(value)


def _amount_text(value) -> str:
    try:
        return decimal_str(parse_amount(value))
    except BadValue:
        return _text(value)


def _time_text(value) -> str:
    try:
        return parse_time(value).isoformat()
    except BadValue:
        return _text(value)


__all__ = ["TIME_FIELDS", "derived_fill_id", "fill_missing_timestamps", "is_legacy", "key_unkeyed_signals", "translate"]
