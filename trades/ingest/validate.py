"""The fast validator: posted items -> typed values, or every error at once.

Built from the table in `trades.ingest.schema` (the same table the OpenAPI schema
comes from). It replaces DRF serializers on the hot path: a batch of 10,000 fills
must not pay for 10,000 serializer instances.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from accounts.errors import TradebookError
from accounts.models import Account
from accounts.values import BadValue, parse_amount, parse_time
from trades.ingest import schema
from trades.ingest.schema import COMMON_NAMES, ITEM_TYPES, TYPE_FIELD_NAME, Field, ItemType
from trades.ingest.sql import JsonText, Unstorable, storable_json

MISSING = object()


@dataclass(slots=True, eq=False)
class Item:
    """One posted item, checked: values are keyed by model attribute and typed."""

    index: int
    type: ItemType
    raw: Any  # the item exactly as posted (before any translation of an older format)
    posted: dict  # the item as checked (after translation)
    values: dict
    meta: dict
    bot_key: str | None
    account: Account | None = None
    outcome: str | None = None
    result_id: Any = None
    item_key: str = ""
    bot_id: int | None = None
    extra: dict = field(default_factory=dict)
    raw_text: JsonText | None = None  # `raw` as the journal stores it (checked storable)


def _text(f: Field, value):
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # exchange ids are often JSON integers
    if not isinstance(value, str):
        raise BadValue("must be a string")
    if f.required and not value.strip():
        raise BadValue("may not be empty")
    if f.max_length is not None and len(value) > f.max_length:
        raise BadValue(f"is longer than {f.max_length} characters")
    return value


def _code(f: Field, value):
    value = _text(f, value)
    if value.strip() is not value:  # str.strip gives back the very string when there is nothing to strip
        # " BTCUSDT" would be a second symbol, "T-1 " a second fill: a double count, not a typo.
        raise BadValue("has spaces at its start or end: it is compared exactly, so send it without them")
    return value


def _choice(f: Field, value):
    if not isinstance(value, str) or value not in f.choices:
        raise BadValue(f"must be one of {', '.join(map(str, f.choices))}")
    return value


def _amount(f: Field, value):
    number = parse_amount(value)
    if f.minimum == schema.POSITIVE and number <= 0:
        raise BadValue("must be greater than 0")
    if f.minimum == schema.NOT_NEGATIVE and number < 0:
        raise BadValue("may not be negative")
    return number


def _time(f: Field, value):
    return parse_time(value)


def _int(f: Field, value):
    if isinstance(value, bool):
        raise BadValue("must be a whole number")
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        value = int(value)
    if not isinstance(value, int):
        raise BadValue("must be a whole number")
    if f.choices and value not in f.choices:
        raise BadValue(f"must be one of {', '.join(map(str, f.choices))}")
    if not -(2**31) <= value < 2**31:
        raise BadValue("is out of range")
    return value


def _bool(f: Field, value):
    if not isinstance(value, bool):
        raise BadValue("must be true or false")
    return value


def _object(f: Field, value):
    if not isinstance(value, dict):
        raise BadValue("must be a JSON object")
    return value


def _fees(f: Field, value):
    if not isinstance(value, list):
        raise BadValue('must be a list of {"amount", "currency"}')
    out = []
    for position, fee in enumerate(value):
        if not isinstance(fee, dict) or "amount" not in fee:
            raise BadValue(f'[{position}] must be {{"amount", "currency"}}')
        try:
            amount = parse_amount(fee["amount"])
        except BadValue as exc:
            raise BadValue(f"[{position}].amount {exc}")
        try:
            currency = _code(schema.FEE_CURRENCY, fee.get("currency") or "")
        except BadValue as exc:
            raise BadValue(f"[{position}].currency {exc}")
        out.append((amount, currency))
    return out


CHECKS: dict[str, Callable[[Field, Any], Any]] = {
    schema.TEXT: _text, schema.CODE: _code, schema.CHOICE: _choice, schema.AMOUNT: _amount, schema.TIME: _time,
    schema.INT: _int, schema.BOOL: _bool, schema.OBJECT: _object, schema.FEES: _fees,
}

# Per type, built once: posted name -> (field, attname, check, position), and the required fields.
_PLANS: dict[str, dict[str, tuple[Field, str, Callable, int]]] = {
    name: {f.name: (f, f.attname, CHECKS[f.kind], n) for n, f in enumerate(t.fields)}
    for name, t in ITEM_TYPES.items()
}
_REQUIRED: dict[str, tuple[tuple[str, str, int], ...]] = {
    name: tuple((f.name, f.attname, n) for n, f in enumerate(t.fields) if f.required) for name, t in ITEM_TYPES.items()
}
_COMMON_TEXT = {f.name: f for f in schema.COMMON_FIELDS}


def check_item(index: int, posted: dict, item_type: ItemType, errors: list[dict]) -> tuple[dict, dict]:
    """Typed values (by model attribute) and meta (unknown fields) of one item; errors appended,
    in the order of the type's fields."""
    plan = _PLANS[item_type.name]
    values: dict = {}
    meta: dict = {}
    found: list[tuple[int, dict]] = []
    for name, value in posted.items():  # the fields posted, not every field the type has
        entry = plan.get(name)
        if entry is None:
            if name not in COMMON_NAMES:
                meta[name] = value
            continue
        f, attname, check, position = entry
        if value is None:
            if f.nullable:
                values[attname] = None
            continue  # null for a field that cannot be null: as if absent
        try:
            values[attname] = check(f, value)
        except BadValue as exc:
            found.append((position, {"index": index, "field": name, "message": str(exc)}))
    for name, attname, position in _REQUIRED[item_type.name]:
        if attname not in values and not any(e["field"] == name for _p, e in found):
            found.append((position, {"index": index, "field": name, "message": "this field is required"}))
    if found:
        errors.extend(e for _p, e in sorted(found, key=lambda pair: pair[0]))
    return values, meta


def check_items(
    items: Sequence[Any], *, item_type: str | None, accounts: Sequence[Account],
    default_account: Account | None = None, translate: Callable[[dict], dict] | None = None,
    start: int = 0, errors: list[dict] | None = None,
) -> list[Item]:
    """Check every item; raise one TradebookError with every error (400), or 404 for an account
    outside the caller's scope (answered exactly as a missing one).

    A request checked in parts: `start` is the index of the first of these items, and the
    errors are appended to `errors` instead, for `raise_errors` once every part is checked."""
    collect = errors is not None
    errors = [] if errors is None else errors
    checked: list[Item] = []
    by_slug = {a.slug: a for a in accounts}
    fixed_type = ITEM_TYPES.get(item_type) if item_type else None
    if item_type and fixed_type is None:
        raise ValueError(f"unknown item type {item_type!r}")
    for index, raw in enumerate(items, start):
        if not isinstance(raw, dict):
            errors.append({"index": index, "field": None, "message": "each item must be a JSON object"})
            continue
        posted = raw
        # The account first: one outside the scope is a 404 whatever else is wrong with the item.
        account = _resolve(index, raw.get("account"), by_slug, default_account, errors)
        if fixed_type is None:
            if translate is not None:
                try:
                    posted = translate(raw)
                except (TradebookError, BadValue, ValueError) as exc:
                    errors.append({"index": index, "field": None, "message": str(exc)})
                    continue
            type_name = posted.get(TYPE_FIELD_NAME)
            this_type = ITEM_TYPES.get(type_name) if isinstance(type_name, str) else None
            if this_type is None:
                errors.append({"index": index, "field": TYPE_FIELD_NAME,
                               "message": f"must be one of {', '.join(ITEM_TYPES)}"})
                continue
        else:
            this_type = fixed_type
            type_name = posted.get(TYPE_FIELD_NAME)
            if type_name is not None and type_name != this_type.name:
                errors.append({"index": index, "field": TYPE_FIELD_NAME,
                               "message": f"this endpoint takes {this_type.name!r} items"})
                continue
        values, meta = check_item(index, posted, this_type, errors)
        try:
            raw_text = storable_json(raw)
        except Unstorable as exc:
            errors.append({"index": index, "field": exc.field, "message": str(exc)})
            continue
        bot_key = None
        for name in ("bot", "bot_id"):
            value = posted.get(name)
            if value is not None:
                try:
                    bot_key = _text(_COMMON_TEXT[name], value).strip() or None
                except BadValue as exc:
                    errors.append({"index": index, "field": name, "message": str(exc)})
                break
        checked.append(Item(index=index, type=this_type, raw=raw, posted=posted, values=values, meta=meta,
                            bot_key=bot_key, account=account, raw_text=raw_text))
    if not collect:
        raise_errors(errors)
    return checked


def raise_errors(errors: list[dict]) -> None:
    """Every error at once (400); only the 404s when an account is outside the scope."""
    if errors:
        errors = sorted(errors, key=lambda e: e["index"])  # parts append theirs in turn
        not_found = [e for e in errors if e.get("status") == 404]
        if not_found:
            raise TradebookError([_public(e) for e in not_found], status=404)
        raise TradebookError(errors)


def _public(error: dict) -> dict:
    return {k: v for k, v in error.items() if k != "status"}


def _resolve(index, slug, by_slug, default_account, errors) -> Account | None:
    if slug in (None, ""):
        if default_account is not None:
            return default_account
        if len(by_slug) == 1:
            return next(iter(by_slug.values()))
        if not by_slug:
            errors.append({"index": index, "field": "account", "message": "no account", "status": 404})
        else:
            errors.append({"index": index, "field": "account",
                           "message": "this token has several accounts: name one with 'account'"})
        return None
    if not isinstance(slug, str):
        errors.append({"index": index, "field": "account", "message": "must be an account slug"})
        return None
    account = by_slug.get(slug)
    if account is None:
        # Outside the scope answers exactly as missing.
        errors.append({"index": index, "field": "account", "message": f"no account {slug!r}", "status": 404})
    return account
