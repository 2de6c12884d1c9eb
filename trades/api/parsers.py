"""Request parsers that keep every digit: JSON numbers become Decimal, never float.

Both take a gzipped body (`Content-Encoding: gzip`), enforce API_MAX_BYTES (413) before
parsing, and refuse an object that names a key twice (which value was meant?) as a 400
naming the item and the key.
"""

import json
import re
import zlib
from decimal import Decimal

from django.conf import settings
from rest_framework import exceptions, parsers

from accounts.errors import TradebookError


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "Request body too large."
    default_code = "payload_too_large"


def read_limited(stream, meta) -> bytes:
    """The request body, at most API_MAX_BYTES (413 past it), gunzipped when the client sent it
    with `Content-Encoding: gzip` — the limit then holds for the body as sent and as unpacked,
    so a small compressed body cannot unpack into gigabytes."""
    limit = settings.API_MAX_BYTES
    try:
        declared = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise PayloadTooLarge(f"Request body is {declared} bytes; the limit is {limit} (API_MAX_BYTES).")
    body = stream.read(limit + 1) if stream is not None else b""
    if len(body) > limit:
        raise PayloadTooLarge(f"Request body is over the limit of {limit} bytes (API_MAX_BYTES).")
    encoding = meta.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise exceptions.UnsupportedMediaType(
            encoding, f"Content-Encoding {encoding!r} is not supported: send the body as it is, or gzip it.")
    return _gunzip(body, limit)


def _gunzip(body: bytes, limit: int) -> bytes:
    out = bytearray()
    while body:  # gzip allows several members one after the other
        unpacker = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            out += unpacker.decompress(body, limit + 1 - len(out))
        except zlib.error as exc:
            raise exceptions.ParseError(f"The body is not valid gzip (Content-Encoding: gzip): {exc}")
        if len(out) > limit:
            raise PayloadTooLarge(f"The body unpacks to over the limit of {limit} bytes (API_MAX_BYTES).")
        if not unpacker.eof:
            raise exceptions.ParseError("The body is not valid gzip (Content-Encoding: gzip): it ends too soon.")
        body = unpacker.unused_data
    return bytes(out)


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


# One decoder, shared as json's own default one is: `json.loads(..., parse_float=...)` builds a
# decoder on every call, which an NDJSON batch makes once a line. The duplicate-key hook costs
# about 0.5 ms per 1,000 fills (measured).
_EXACT = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
_SPACE = re.compile(r"[ \t\n\r]*")


def loads_exact(text: str | bytes):
    """json.loads with every JSON number exact (Decimal), NaN/Infinity refused, a key given twice
    in one object refused (DuplicateKey), and nesting too deep for the parser a ValueError."""
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


class ExactJSONParser(parsers.BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        body = read_limited(stream, request.META if request is not None else {})
        if not body.strip():
            raise exceptions.ParseError("The request body is empty: send a JSON object or list.")
        try:
            return loads_exact(body)
        except DuplicateKey as exc:
            raise TradebookError([exc.as_error()])
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"The body is not valid JSON: {exc}")


class NDJSONParser(parsers.BaseParser):
    """application/x-ndjson: one JSON item a line (a bot's events.jsonl as it is)."""

    media_type = "application/x-ndjson"

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        body = read_limited(stream, request.META if request is not None else {})
        items = _clean_lines(body)
        if items is None:  # some line is not one JSON value: read line by line, for every error
            items = _each_line(body)
        if not items:
            raise exceptions.ParseError("The request body has no lines: send one JSON item a line.")
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
