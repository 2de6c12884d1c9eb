"""What a source's reader hands the sync: rows translated into items, grouped, with the cursor."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Group:
    """Items that stand or fall together: one freqtrade trade, one JSONL line, one hummingbot row."""

    key: object  # the store's own id of it (a trade id, a line number, a fill's id)
    label: str  # how a message names it: "trade 7", "line 12", "fill 8812377"
    items: list[dict]


@dataclass
class Batch:
    """Groups to book in one transaction, and the cursor to store with them."""

    groups: list[Group]
    cursor: dict
    newest: datetime | None = None  # the newest time (store's clock) of these rows, for the lag
    rows: int = 0  # rows read, for the progress bar
    errors: list[tuple[object, str, str]] = field(default_factory=list)  # (key, label, why): refused unbooked
    open_ids: set = field(default_factory=set)  # freqtrade: the trades of this batch open now
