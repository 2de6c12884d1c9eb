"""What a request carries through ingest: its items, checked, and its problems.

An `Item` is one posted item once checked: its typed values (by model attribute), the
fields it had that its type does not know (`meta`), whose account and bot it is, and
what became of it (`outcome`, the row's `pk`). `Problems` collects every error of a
request — the validator's and the writers' alike — and raises them at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accounts.models import Account
from core.errors import TradebookError
from core.exact_json import JsonText
from trades.ingest.schema import ItemType

CREATED, DUPLICATE, UPDATED = "created", "duplicate", "updated"
OUTCOMES = (CREATED, DUPLICATE, UPDATED)  # what became of an accepted item (the journal keeps it)


@dataclass(slots=True, eq=False)
class Item:
    """One posted item, checked."""

    index: int  # its position in the request
    type: ItemType
    raw: Any  # the item exactly as posted (before any translation of an older format)
    posted: dict  # the item as checked (after translation)
    values: dict  # typed values, keyed by model attribute
    meta: dict  # the fields its type does not know, kept as posted
    bot_key: str | None
    account: Account | None = None
    raw_text: JsonText | None = None  # `raw` as the journal stores it (checked storable)
    bot_id: int | None = None
    key: tuple | None = None  # a keyed item's key (with its account, it names one row)
    outcome: str | None = None  # CREATED, DUPLICATE or UPDATED once written
    pk: int | None = None  # the row it made or matched
    same_as: Item | None = None  # an earlier item of the request with the same key and content
    unknown: tuple[str, ...] = ()  # the posted fields its type does not know (in meta; the answer warns)


# The answer's status when problems of several kinds meet: a conflict says most.
STATUS_PRIORITY = (409, 404, 400)


class Problems:
    """Every error of one request, as {"index", "field", "message"} with the status it means."""

    def __init__(self) -> None:
        self._found: list[tuple[int, dict]] = []

    def __bool__(self) -> bool:
        return bool(self._found)

    def add(self, index: int | None, field_name: str | None, message: str, *, status: int = 400) -> None:
        self._found.append((status, {"index": index, "field": field_name, "message": message}))

    def merge(self, other: Problems) -> None:
        self._found.extend(other._found)

    def raise_any(self) -> None:
        """Raise them all as one TradebookError. An account outside the caller's scope is a 404
        naming only those accounts: it is answered exactly as one that does not exist, so
        nothing else about the items is said."""
        if not self._found:
            return
        hidden = [e for s, e in self._found if s == 404 and e["field"] == "account"]
        if hidden:
            raise TradebookError(_in_order(hidden), status=404)
        statuses = {s for s, _e in self._found}
        status = next(s for s in STATUS_PRIORITY if s in statuses)
        raise TradebookError(_in_order([e for _s, e in self._found]), status=status)


def _in_order(errors: list[dict]) -> list[dict]:
    return sorted(errors, key=lambda e: -1 if e["index"] is None else e["index"])
