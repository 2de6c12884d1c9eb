"""Logs as one JSON object per line, each line of a request carrying its request id.

The request id lives in a context variable: the web's middleware (trades.api.middleware) sets
it when a request comes in and clears it when the answer is sent, and every record logged in
between — by any logger, in that thread — is formatted with it. Log shippers (Loki, Elastic,
CloudWatch…) read the lines as they are; a proxy's or a bot's `X-Request-ID` finds them.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

# An incoming X-Request-ID is kept when it looks like an id (a UUID, a proxy's hex, a client's
# "bot-42:17"): no spaces or control characters that would forge a log line, not unbounded.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}")

# LogRecord attributes that are not the caller's `extra=` fields.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "request_id"}
# Django's request logger puts the request object and the server's socket on its records: not data.
_NOT_DATA = {"request", "server_time", "socket"}


def request_id_from(header: str | None) -> str:
    """The incoming id when it is sane, else a new one (32 hex digits)."""
    if header and SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """{"time", "level", "logger", "message", "request_id"?, "process", "thread", "exception"?, extras…}."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        entry["process"] = record.process
        entry["thread"] = record.threadName
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in _NOT_DATA and name not in entry:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
