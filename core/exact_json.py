"""Exact JSON in and out: every JSON number a Decimal, every Decimal written back digit for digit.

In: `loads_exact` reads JSON with numbers as Decimal (never float), refuses NaN and
Infinity, and refuses an object that names a key twice (`DuplicateKey`): a ledger must
not guess which of two prices was meant.

Out: `dumps` writes JSON that keeps every Decimal's digits as a JSON number (Django's
JSONField would go through `json.dumps`, which cannot write a Decimal, and floats would
lose the digits a bot posted); `storable_json` is that text for an item about to be
journaled, refused where no database here could keep it exactly.
"""

import json
import re
from decimal import Decimal

import orjson

from core.amounts import decimal_str
from core.errors import TradebookError


def _default(value):
    if isinstance(value, Decimal):
        # The number as posted, digit for digit (JSON allows exponents); never NaN here.
        return orjson.Fragment(str(value)) if value.is_finite() else decimal_str(value)
    return str(value)


def dumps(value) -> str:
    """JSON text that keeps every Decimal's digits as a JSON number."""
    try:
        return orjson.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # an integer beyond 64 bits: orjson refuses it, the slow path does not
        out: list[str] = []
        _dump(value, out)
        return "".join(out)


def _dump(value, out: list) -> None:
    if isinstance(value, dict):
        out.append("{")
        for position, (key, item) in enumerate(value.items()):
            out.append(("," if position else "") + json.dumps(str(key), ensure_ascii=False) + ":")
            _dump(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for position, item in enumerate(value):
            if position:
                out.append(",")
            _dump(item, out)
        out.append("]")
    elif isinstance(value, Decimal) and value.is_finite():
        out.append(str(value))
    elif value is None or isinstance(value, (bool, int, float, str)):
        out.append(json.dumps(value, ensure_ascii=False))
    else:
        out.append(json.dumps(str(value), ensure_ascii=False))


class JsonText(str):
    """A JSON document already serialised by `dumps` (passed to the database as it is)."""


def json_text(value) -> "JsonText":
    """The text a JSON column stores for `value`: already-serialised text as it is, else `dumps`."""
    return value if isinstance(value, JsonText) else JsonText(dumps(value))


# Deeper than any trading record needs, and well inside what every reader of the journal takes
# (orjson, which renders the API's answers, stops at 255 levels).
MAX_DEPTH = 64
TOO_DEEP = f"is nested more than {MAX_DEPTH} levels deep (objects or lists inside each other)"


class Unstorable(ValueError):
    """A posted value no database here can keep as posted; `field` is the top-level field holding it."""

    def __init__(self, field: str | None, message: str):
        self.field = field
        super().__init__(message)


def storable_json(item: dict) -> JsonText:
    """`item` as the JSON text the journal stores, refused (Unstorable) where it cannot be kept
    exactly: a NUL character (PostgreSQL's text and jsonb cannot hold U+0000, and one ledger
    answers alike on both databases), an unpaired surrogate (not Unicode, so not UTF-8), or
    objects and lists nested more than MAX_DEPTH deep (stored, it could not be read back).
    Every stored text of an item comes from its posted form, so checking that one text checks
    them all; each walk runs only when the text shows a suspect (a literal backslash-u0000 in a
    string is one, and passes; so are brackets inside strings)."""
    try:
        text = dumps(item)
    except RecursionError:
        raise Unstorable(None, TOO_DEEP) from None
    if text.count("{") + text.count("[") > MAX_DEPTH and _depth(item) > MAX_DEPTH:
        raise Unstorable(None, TOO_DEEP)
    if "\\u0000" in text or not (text.isascii() or _unicode_problem(text) is None):
        for key, value in item.items():
            problem = _unicode_problem(key)
            if problem is not None:
                raise Unstorable(None, f"the field name {key!r} {problem}")
            problem = _first_problem(value)
            if problem is not None:
                raise Unstorable(key if key.isprintable() else None, problem)
    return JsonText(text)


def _unicode_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains the character U+0000 (NUL), which cannot be stored: remove it"
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            return "contains an unpaired surrogate (a lone \\ud800-\\udfff escape), which is not Unicode text"
    return None


def _depth(value) -> int:
    deepest, pending = 0, [(value, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, (list, tuple)):
            continue
        deepest = max(deepest, depth)
        pending.extend((v, depth + 1) for v in value)
    return deepest


def _first_problem(value) -> str | None:
    pending = [value]
    while pending:  # a stack, not recursion: the value may be nested hundreds deep
        value = pending.pop()
        if isinstance(value, str):
            problem = _unicode_problem(value)
            if problem is not None:
                return problem
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, (list, tuple)):
            pending.extend(value)
    return None


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


class DuplicateKey(ValueError):
    """One JSON object names a key twice. json would keep the last value silently; a ledger
    must not guess which of two prices was meant. `index`: the top-level list item holding it."""

    def __init__(self, key: str):
        self.key = key
        self.index: int | None = None
        super().__init__(f"the key {key!r} appears twice in one object")

    def as_error(self, index: int | None = None, prefix: str = "") -> dict:
        # The key is echoed only where it is printable text: the answer must itself be valid JSON text.
        return {"index": self.index if index is None else index, "field": self.key if self.key.isprintable() else None,
                "message": f"{prefix}the key {self.key!r} appears twice in one object: send each field once"}


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return obj


# The bounds of a posted JSON number: far past anything a ledger holds, and small enough that no
# number costs more than a bounded amount of work to read, store or write back (`1e999999999`
# would be read in microseconds, then written out as a billion digits by whoever prints it).
MAX_NUMBER_CHARS = 100
MAX_EXPONENT = 100  # |exponent| once normalised: 1e100 and 1e-100 are the extremes


class NumberOutOfBounds(ValueError):
    """A JSON number past MAX_NUMBER_CHARS characters or an exponent of ±MAX_EXPONENT."""


def _bounded_decimal(text: str) -> Decimal:
    """A JSON number with a fraction or an exponent, exact, within the bounds (ValueError past them)."""
    if len(text) > MAX_NUMBER_CHARS:
        raise NumberOutOfBounds(f"a number of {len(text)} characters ({text[:20]}…): at most {MAX_NUMBER_CHARS}")
    try:
        number = Decimal(text)
    except ArithmeticError:  # an exponent past what Decimal holds at all (1e1000000000000000000)
        number = None
    if number is None or (number and not -MAX_EXPONENT <= number.adjusted() <= MAX_EXPONENT):
        raise NumberOutOfBounds(f"the number {text} is out of range: its exponent may be at most "
                                f"{MAX_EXPONENT} either way")
    return number


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise NumberOutOfBounds(f"a number of {len(text)} digits ({text[:20]}…): at most {MAX_NUMBER_CHARS}")
    return int(text)


# One decoder, shared as json's own default one is: `json.loads(..., parse_float=...)` builds a
# decoder on every call, which an NDJSON batch makes once a line. The duplicate-key hook costs
# about 0.5 ms per 1,000 fills (measured).
_EXACT = json.JSONDecoder(parse_float=_bounded_decimal, parse_int=_bounded_int, parse_constant=_reject_constant,
                          object_pairs_hook=_unique_keys)
# What this application stored itself (the journal, meta): read back as it is, every digit, with
# no bound — PostgreSQL's jsonb writes 1e100 out as 101 digits, and it must still read back.
_STORED = json.JSONDecoder(parse_float=Decimal)


def loads_stored(text: str | bytes):
    """A JSON column's text as this application stored it, every number exact (Decimal, int)."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode()
    return _STORED.decode(text)
_SPACE = re.compile(r"[ \t\n\r]*")


def loads_exact(text: str | bytes):
    """json.loads with every JSON number exact (Decimal), NaN/Infinity refused, a key given twice
    in one object refused (DuplicateKey), numbers past the bounds (MAX_NUMBER_CHARS, MAX_EXPONENT)
    and nesting too deep for the parser a ValueError."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode(json.detect_encoding(text), "surrogatepass")  # as json.loads does
    elif text.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    try:
        return _EXACT.decode(text)
    except DuplicateKey as exc:
        exc.index = _item_holding_error(text)
        raise
    except RecursionError:
        raise ValueError("it is nested too deeply (objects or lists inside each other)") from None


def _item_holding_error(text: str) -> int | None:
    """The index of the top-level list item that fails to decode (0 for a single object, which
    the API takes as a list of one): read again item by item, only after a failure."""
    at = _SPACE.match(text).end()
    if not text.startswith("[", at):
        return 0 if text.startswith("{", at) else None
    index, at = 0, at + 1
    while True:
        at = _SPACE.match(text, at).end()
        try:
            _value, at = _EXACT.raw_decode(text, at)
        except DuplicateKey:
            return index
        except (ValueError, RecursionError):
            return None
        at = _SPACE.match(text, at).end()
        if not text.startswith(",", at):
            return None
        index, at = index + 1, at + 1


def loads_lines(body: bytes) -> list:
    """NDJSON: every non-blank line's value, each read as `loads_exact` reads; every bad
    line's error at once (TradebookError, 400, naming the line)."""
    items = _clean_lines(body)
    if items is None:  # some line is not one JSON value: read line by line, for every error
        items = _each_line(body)
    return items


def _clean_lines(body: bytes) -> list | None:
    """Every line's value, when the body is UTF-8 and each line is one JSON value (or blank);
    else None. It gives what `_each_line` gives, about 1 ms sooner per 1,000 lines (0.8-1.2, measured): the
    body is decoded once and each line goes straight to json's C scanner, not through
    json.loads' Python steps. Anything unusual falls back to `_each_line`."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    scan, space = _EXACT.scan_once, _SPACE.match
    items = []
    # The breaks of bytes.splitlines (which `_each_line` uses): never str.splitlines, which
    # also breaks at U+2028 and others that a JSON string may hold.
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        at = space(line).end()
        if at == len(line):
            continue
        try:
            value, end = scan(line, at)
        except (ValueError, StopIteration, RecursionError):
            return None
        if space(line, end).end() != len(line):
            return None
        items.append(value)
    return items


def _each_line(body: bytes) -> list:
    """Each line decoded as json.loads would; every line's error at once (400)."""
    items, errors = [], []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(loads_exact(line))
        except DuplicateKey as exc:
            errors.append(exc.as_error(len(items) + len(errors), prefix=f"line {number}: "))
        except (ValueError, UnicodeDecodeError) as exc:
            errors.append({"index": len(items) + len(errors), "field": None,
                           "message": f"line {number} is not valid JSON: {exc}"})
    if errors:
        raise TradebookError(errors)
    return items
