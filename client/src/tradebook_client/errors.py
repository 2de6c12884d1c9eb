"""The client's exceptions. Every one derives from TradebookError."""

from __future__ import annotations

from typing import Any, Dict, List, Optional


class TradebookError(Exception):
    """Base of the client's errors."""


class ItemError(TradebookError, ValueError):
    """An item refused at the call, before it is queued: a required field is missing or a
    value cannot be read as a number or a time. Nothing was queued."""

    def __init__(self, field: Optional[str], message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


class ApiError(TradebookError):
    """tradebook answered a read with an error (4xx), or a write in a way no retry mends."""

    def __init__(self, status: int, errors: List[Dict[str, Any]], *, method: str = "", path: str = "") -> None:
        self.status = status
        self.errors = errors
        where = f" {method} {path}" if method else ""
        text = "; ".join(
            f"[{e.get('index')}] {e.get('field')}: {e.get('message')}" if e.get("index") is not None
            else (f"{e.get('field')}: {e.get('message')}" if e.get("field") else str(e.get("message")))
            for e in errors
        )
        super().__init__(f"tradebook answered {status}{where}: {text}")


class Unavailable(TradebookError):
    """tradebook could not be reached, or answered 429/5xx, and the retries allowed
    (`max_retries`, a flush or close `timeout`, a read's `read_retries`) ran out. What was
    queued stays queued (and spooled) and is sent later."""


class ClientClosed(TradebookError):
    """The client was closed: it queues nothing more."""


class SpoolLocked(TradebookError):
    """Another live client (this or another process) holds the spool: two senders of one
    spool would send its items twice."""
