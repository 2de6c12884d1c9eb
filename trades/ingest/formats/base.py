"""What the native translators share: where each canonical item came from, so an error
about a canonical field names the message and the native field the caller sent."""

from dataclasses import dataclass, field

from core.amounts import parse_amount
from core.errors import BadValue, TradebookError
from core.times import parse_time


@dataclass(slots=True)
class Origin:
    """The place in the posted payload a canonical item came from."""

    index: int | None  # the message (Bybit) or structure (CCXT) index, as errors report it
    path: str  # e.g. "data[2]" or "trades[3]"
    fields: dict[str, str] = field(default_factory=dict)  # canonical field -> native field


@dataclass(slots=True)
class Translation:
    items: list[dict] = field(default_factory=list)
    origins: list[Origin] = field(default_factory=list)

    def add(self, item: dict, origin: Origin) -> None:
        self.items.append(item)
        self.origins.append(origin)


class Problems:
    """Collects every error of a payload, then raises them all at once (SPEC 4.1 rule 1)."""

    def __init__(self) -> None:
        self.errors: list[dict] = []

    def add(self, index: int | None, field_name: str | None, message: str) -> None:
        self.errors.append({"index": index, "field": field_name, "message": message})

    def raise_any(self) -> None:
        if self.errors:
            raise TradebookError(self.errors)


def remap_errors(exc: TradebookError, origins: list[Origin]) -> TradebookError:
    """An error of `record` names canonical item i; say instead which message and native field."""
    errors = []
    for error in exc.errors:
        i = error.get("index")
        if isinstance(i, int) and 0 <= i < len(origins):
            origin = origins[i]
            name = error.get("field")
            if name == "account":  # from ?account=, not from the payload
                errors.append({**error, "index": origin.index})
                continue
            native = origin.fields.get(name, name) if name else None
            where = f"{origin.path}.{native}" if native else origin.path
            errors.append({**error, "index": origin.index, "field": where})
        else:
            errors.append(error)
    return TradebookError(errors, status=exc.status)


def blank(value) -> bool:
    """Exchanges send "" (and sometimes "0") for 'not applicable'."""
    return value is None or (isinstance(value, str) and not value.strip())


def ms(value):
    """An exchange time in epoch ms as sent (number or digit string) -> int, else as it is."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def positive_or_none(value):
    """A price where 0 or "" means 'none' (market orders, no liquidation price)."""
    if blank(value):
        return None
    try:
        return None if parse_amount(value) == 0 else value
    except BadValue:
        return value  # the validator names it


def check_time(problems: Problems, index: int, path: str, value) -> bool:
    try:
        parse_time(value)
        return True
    except BadValue as exc:
        problems.add(index, path, str(exc))
        return False


def set_if(item: dict, key: str, value) -> None:
    if not blank(value):
        item[key] = value


def kept(row: dict, pairs, *, skip=()) -> dict:
    """What a translator keeps beside the booked fields: {name: row[native]} for the (native, name)
    pairs the row has (not blank, not one of `skip`). It goes in the item's `meta` object, which
    every item type takes: fields of the translator's own, not a bot's typos, so ingest warns of none."""
    out = {}
    for native, name in pairs:
        value = row.get(native)
        if not blank(value) and not (isinstance(value, str) and value in skip):
            out[name] = value
    return out


def with_meta(item: dict, meta: dict) -> dict:
    if meta:
        item["meta"] = meta
    return item


def text_or_none(value) -> str | None:
    """A native field that must be text to be read at all (a symbol, a status): else None."""
    return value if isinstance(value, str) else None


def inverse_contract(problems: Problems, index: int | None, path: str, symbol) -> None:
    """SPEC 4.3: an inverse contract (settled in the base coin) is not booked until the books support it."""
    problems.add(index, path, f"{symbol!r} is an inverse contract (settled in its base coin): tradebook books "
                              "linear contracts and spot only, so it is not booked")
