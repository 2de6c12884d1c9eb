"""Request parsers that keep every digit: JSON numbers become Decimal, never float.

Both take a gzipped body (`Content-Encoding: gzip`), enforce API_MAX_BYTES (413) before
parsing — on the body as sent, chunked or not, and as unpacked — and refuse an object that
names a key twice (which value was meant?) as a 400 naming the item and the key. Every step
is bounded: the bytes read, the gzip members, the size unpacked, each JSON number's digits and
exponent (core.exact_json), so no body costs more than a bounded amount of work to refuse.
"""

import io
import zlib

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from rest_framework import exceptions, parsers

from core.errors import TradebookError
from core.exact_json import DuplicateKey, loads_exact, loads_lines


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
        if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():  # read up to the limit only
            raise PayloadTooLarge(f"Request body is over the limit of {limit} bytes (API_MAX_BYTES).")
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


# gzip allows several members one after the other (what `cat a.gz b.gz` makes); a client has no
# reason to send many, and each costs a decompressor and a copy of the rest of the body.
MAX_GZIP_MEMBERS = 64


def _gunzip(body: bytes, limit: int) -> bytes:
    out = bytearray()
    members = 0
    while body:
        members += 1
        if members > MAX_GZIP_MEMBERS:
            raise exceptions.ParseError(f"The gzip body has more than {MAX_GZIP_MEMBERS} members: "
                                        "compress the body as one.")
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


def read_chunked_body(request) -> None:
    """A chunked body (no Content-Length), made readable as if it had one: read from the server's
    input at most API_MAX_BYTES + 1 bytes, and Content-Length set to what was read.

    Django reads a body only up to its Content-Length, so a chunked body would read as empty
    (a 400 for the wrong reason, even over the limit). Only where the server says it ends the
    input (`wsgi.input_terminated`: gunicorn does) is it read: elsewhere reading could wait forever.
    Past the limit, the parser's check of Content-Length answers the 413 as for any body."""
    meta = request.META
    if meta.get("CONTENT_LENGTH") or "chunked" not in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
        return
    if not meta.get("wsgi.input_terminated") or getattr(request, "_read_started", False):
        return
    wanted = settings.API_MAX_BYTES + 1
    parts, size = [], 0
    stream = meta["wsgi.input"]
    while size < wanted:
        part = stream.read(wanted - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    body = b"".join(parts)
    meta["CONTENT_LENGTH"] = str(len(body))
    request._stream = LimitedStream(io.BytesIO(body), len(body))


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
        except (ValueError, UnicodeError) as exc:
            raise exceptions.ParseError(f"The body is not valid JSON: {exc}")


class NDJSONParser(parsers.BaseParser):
    """application/x-ndjson: one JSON item a line (a bot's events.jsonl as it is)."""

    media_type = "application/x-ndjson"

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        body = read_limited(stream, request.META if request is not None else {})
        items = loads_lines(body)
        if not items:
            raise exceptions.ParseError("The request body has no lines: send one JSON item a line.")
        return items
