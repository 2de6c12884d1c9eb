"""The fast validator: posted items -> typed values, or every error at once.

Built from the table in `trades.ingest.schema` (the same table the OpenAPI schema
comes from). It replaces DRF serializers on the hot path: a batch of 10,000 fills
must not pay for 10,000 serializer instances.
"""

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from accounts.models import Account
from accounts.scope import pick_account
from core.amounts import NUMBER_TEXT, decimal_str, parse_amount
from core.errors import BadValue, TradebookError
from core.exact_json import Unstorable, storable_json
from core.times import parse_time
from trades.ingest import schema
from trades.ingest.items import Item, Problems
from trades.ingest.schema import COMMON_NAMES, ITEM_TYPES, META_FIELD_NAME, TYPE_FIELD_NAME, Field, ItemType


def _text(f: Field, value):
    if type(value) is int and f.integer_ok:
        value = str(value)  # exchange ids are often JSON integers: taken as their digits
    if not isinstance(value, str):
        raise BadValue("must be a string or a JSON integer" if f.integer_ok else "must be a string")
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


INT_LIMIT = 2**31  # what an integer column holds on every database


def _int(f: Field, value):
    if isinstance(value, bool):
        raise BadValue("must be a whole number")
    if isinstance(value, str):  # the text of a number, as SPEC 3 writes one (no spaces, '+' or other digits)
        if len(value) > 20 or NUMBER_TEXT.fullmatch(value) is None:
            raise BadValue("must be a whole number")
        value = Decimal(value)
    if isinstance(value, Decimal):
        # Compared before converted: int() of 1e100 is a hundred digits of work for nothing.
        if not value.is_finite() or value.copy_abs() >= INT_LIMIT or value != value.to_integral_value():
            raise BadValue("must be a whole number" if not value.is_finite() or value.copy_abs() < INT_LIMIT
                           else "is out of range")
        value = int(value)
    if not isinstance(value, int):
        raise BadValue("must be a whole number")
    if f.choices and value not in f.choices:
        raise BadValue(f"must be one of {', '.join(map(str, f.choices))}")
    if not -INT_LIMIT <= value < INT_LIMIT:
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
        for name in fee:
            if name not in ("amount", "currency"):
                # A typo here ("curency") would book the fee in no currency: refused, not guessed.
                raise BadValue(f'[{position}] has {_shown(name)}: a fee has only "amount" and "currency"')
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


def check_item(index: int, posted: dict, item_type: ItemType, problems: Problems) -> tuple[dict, dict, tuple]:
    """Typed values (by model attribute), meta and the names of the fields the type does not know
    (kept in meta: SPEC 4.1 rule 3) of one item; errors appended, in the order of the type's fields."""
    plan = _PLANS[item_type.name]
    values: dict = {}
    meta: dict = {}
    unknown: list[str] = []
    found: list[tuple[int, dict]] = []
    for name, value in posted.items():  # the fields posted, not every field the type has
        entry = plan.get(name)
        if entry is None:
            if name not in COMMON_NAMES:
                meta[name] = value
                unknown.append(name)
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
    for _position, error in sorted(found, key=lambda pair: pair[0]):
        problems.add(error["index"], error["field"], error["message"])
    given = posted.get(META_FIELD_NAME)
    if given is not None:
        if not isinstance(given, dict):
            problems.add(index, META_FIELD_NAME, "must be a JSON object")
        else:
            for name in sorted(given.keys() & meta.keys()):
                problems.add(index, name, "is given both as a field and in meta: send it once")
            meta = {**given, **meta}
    return values, meta, tuple(unknown)


# --- warnings: the fields an item carried that its type does not know ------------------

MAX_WARNINGS = 100  # per request; past it, one more warning counts the rest
_SUGGEST_UP_TO = 64  # longer names are not compared: nothing known is one typo from them


def unknown_field_warnings(items: Sequence[Item]) -> list[dict]:
    """SPEC 4.1 rule 3: each field an item carried that its type does not know (kept in meta), the
    known field one typo away where there is one (`feee` → `fee`)."""
    warnings: list[dict] = []
    more = 0
    for item in items:
        for name in item.unknown:
            if len(warnings) == MAX_WARNINGS:
                more += 1
                continue
            message = f"is not a field of a {item.type.name} item: kept in meta, not booked"
            known = suggestion(name, item.type)
            if known is not None:
                message += f" — did you mean {known!r}?"
            warnings.append({"index": item.index, "field": _field_name(name), "message": message})
    if more:
        warnings.append({"index": None, "field": None, "message": f"and {more} more fields no type knows, "
                                                                  "kept in meta"})
    return warnings


def suggestion(name: str, item_type: ItemType) -> str | None:
    """The known field of `item_type` that `name` is a typo of: only case and '_'/'-' away, or one
    letter away — added (`feee` → `fee`, the commonest slip, so it wins over `fees`), two swapped,
    one changed, one dropped, in that order. None where nothing is that near, or two are equally."""
    if len(name) > _SUGGEST_UP_TO:
        return None
    known = [f.name for f in item_type.fields] + [f.name for f in schema.COMMON_FIELDS]
    squashed, lowered = _squash(name), name.lower()
    ranked: dict[int, set[str]] = {}
    for candidate in known:
        rank = 0 if _squash(candidate) == squashed else _typo_rank(lowered, candidate)
        if rank is not None:
            ranked.setdefault(rank, set()).add(candidate)
    if not ranked:
        return None
    best = ranked[min(ranked)]
    return next(iter(best)) if len(best) == 1 else None


def _squash(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def _typo_rank(posted: str, known: str) -> int | None:
    """1: a letter added, 2: two neighbours swapped, 3: one changed, 4: one dropped; None: further."""
    if len(posted) == len(known) + 1:
        return 1 if _drops_one(posted, known) else None
    if len(posted) + 1 == len(known):
        return 4 if _drops_one(known, posted) else None
    if len(posted) != len(known) or posted == known:
        return None
    diff = [i for i in range(len(posted)) if posted[i] != known[i]]
    if len(diff) == 2 and diff[1] == diff[0] + 1 and posted[diff[0]] == known[diff[1]] \
            and posted[diff[1]] == known[diff[0]]:
        return 2
    return 3 if len(diff) == 1 else None


def _drops_one(longer: str, shorter: str) -> bool:
    i = 0
    while i < len(shorter) and shorter[i] == longer[i]:
        i += 1
    return shorter[i:] == longer[i + 1:]


def _field_name(name: str) -> str | None:
    """A posted field name as the answer may echo it: printable text, not too long."""
    if not name.isprintable():
        return None
    return name if len(name) <= 200 else name[:200] + "…"


def _shown(name) -> str:
    return repr(name) if isinstance(name, str) and name.isprintable() and len(name) <= 64 else "another field"


def check_items(
    items: Sequence[Any], *, item_type: str | None, accounts: Sequence[Account], problems: Problems,
    default_account: Account | None = None, translate: Callable[[dict], dict] | None = None,
    start: int = 0, source: str = "bot", indexes: Sequence[int] | None = None,
) -> list[Item]:
    """Check every item; what is wrong goes to `problems` (400, or 404 for an account outside
    the caller's scope). `start` is the index of the first of these items in the request
    (checked in parts); `indexes`, where given, is each item's own index in the request (items
    checked in another order than posted); `source` is a fill's source where it names none."""
    checked: list[Item] = []
    fixed_type = ITEM_TYPES.get(item_type) if item_type else None
    if item_type and fixed_type is None:
        raise ValueError(f"unknown item type {item_type!r}")
    for index, raw in (enumerate(items, start) if indexes is None else zip(indexes, items, strict=True)):
        if not isinstance(raw, dict):
            problems.add(index, None, "each item must be a JSON object")
            continue
        posted = raw
        # The account first: one outside the scope is a 404 whatever else is wrong with the item.
        try:
            account = pick_account(accounts, raw.get("account"), default=default_account)
        except TradebookError as exc:
            account = None
            problems.add(index, "account", exc.errors[0]["message"], status=exc.status)
        if fixed_type is None:
            if translate is not None:
                try:
                    posted = translate(raw)
                except (TradebookError, BadValue, ValueError) as exc:
                    problems.add(index, None, str(exc))
                    continue
            type_name = posted.get(TYPE_FIELD_NAME)
            this_type = ITEM_TYPES.get(type_name) if isinstance(type_name, str) else None
            if this_type is None:
                problems.add(index, TYPE_FIELD_NAME, f"must be one of {', '.join(ITEM_TYPES)}")
                continue
        else:
            this_type = fixed_type
            type_name = posted.get(TYPE_FIELD_NAME)
            if type_name is not None and type_name != this_type.name:
                problems.add(index, TYPE_FIELD_NAME, f"this endpoint takes {this_type.name!r} items")
                continue
        values, meta, unknown = check_item(index, posted, this_type, problems)
        try:
            raw_text = storable_json(raw)
        except Unstorable as exc:
            problems.add(index, exc.field, str(exc))
            continue
        bot_key = None
        for name in ("bot", "bot_id"):
            value = posted.get(name)
            if value is not None:
                try:
                    bot_key = _text(_COMMON_TEXT[name], value).strip() or None
                except BadValue as exc:
                    problems.add(index, name, str(exc))
                break
        if this_type.name == "fill":
            _shape_fill(index, posted, values, problems, source)
        checked.append(Item(index=index, type=this_type, raw=raw, posted=posted, values=values, meta=meta,
                            bot_key=bot_key, account=account, raw_text=raw_text, unknown=unknown))
    return checked


def _shape_fill(index: int, posted: dict, values: dict, problems: Problems, source: str) -> None:
    """A fill's fees as the model keeps them: the first in fee/fee_currency, the rest in other_fees."""
    fees = values.pop("fees", None)
    if fees is not None:
        if "fee" in values or "fee_currency" in values:
            problems.add(index, "fees", "give fee/fee_currency or fees, not both")
            return
        if fees:
            values["fee"], values["fee_currency"] = fees[0]
        values["other_fees"] = [{"amount": decimal_str(a), "currency": c} for a, c in fees[1:]]
    values.setdefault("source", source)
