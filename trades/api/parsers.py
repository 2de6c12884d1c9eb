"""Request parsers that keep every digit: JSON numbers become Decimal, never float.

Both enforce API_MAX_BYTES (413) before parsing.
"""

import json
from decimal import Decimal

from django.conf import settings
from rest_framework import exceptions, parsers

from accounts.errors import TradebookError


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "Request body too large."
    default_code = "payload_too_large"


def read_limited(stream, meta) -> bytes:
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
    return body


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


# One decoder, shared as json's own default one is: `json.loads(..., parse_float=...)` builds a
# decoder on every call, which an NDJSON batch makes once a line.
_EXACT = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)


def loads_exact(text: str | bytes):
    """json.loads with every JSON number exact (Decimal) and NaN/Infinity refused."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode(json.detect_encoding(text), "surrogatepass")  # as json.loads does
    elif text.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return _EXACT.decode(text)


class ExactJSONParser(parsers.BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        body = read_limited(stream, request.META if request is not None else {})
        if not body.strip():
            raise exceptions.ParseError("The request body is empty: send a JSON object or list.")
        try:
            return loads_exact(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"The body is not valid JSON: {exc}")


class NDJSONParser(parsers.BaseParser):
    """application/x-ndjson: one JSON item a line (a bot's events.jsonl as it is)."""

    media_type = "application/x-ndjson"

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        body = read_limited(stream, request.META if request is not None else {})
        items, errors = [], []
        for number, line in enumerate(body.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append(loads_exact(line))
            except (ValueError, UnicodeDecodeError) as exc:
                errors.append({"index": len(items) + len(errors), "field": None,
                               "message": f"line {number} is not valid JSON: {exc}"})
        if errors:
            raise TradebookError(errors)
        if not items:
            raise exceptions.ParseError("The request body has no lines: send one JSON item a line.")
        return items
