"""Following a growing `events.jsonl` by byte offset (a `jsonl` source).

A pass reads the file from the cursor's offset to its last newline: a last line still
being written (no newline yet) is left for the next pass. Lines are what
`import_events` takes — canonical items and the older `trade`/`metric`/`position`
lines, translated by `record` through `trades.ingest.formats.legacy` — prepared the same
way: a line without a time takes the previous line's (across passes too: the cursor
keeps the last time), a signal without `id` gets one from its content.

The file may be rotated (renamed away and a new one created: another inode), truncated
(smaller than the offset) or truncated and written again past the offset (its first line
is no longer the one read): each is seen — device and inode, size, a hash of the first
line — and the new file is read from the start; the items' keys make a re-read safe.
Lines appended to a rotated-away file after the last pass are not read.

A line that is not a JSON object, or that `record` refuses, is left out and named in
the source's `last_error`; the lines after it are booked.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from core.exact_json import loads_exact
from trades.ingest.formats.legacy import fill_missing_timestamps, key_unkeyed_signals
from trades.sources.batches import Batch, Group
from trades.sources.db import StoreError

BATCH_LINES = 5000
READ_SIZE = 4 << 20
HEAD_BYTES = 4096  # the first line's fingerprint covers at most this much


class JsonlReader:
    def __init__(self, path: str | Path, cursor: dict):
        self.path = Path(path)
        self.cursor = dict(cursor or {})
        self.total: int | None = None
        self.lag: timedelta | None = None
        self.rotated = False

    def batches(self) -> Iterator[Batch]:
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - closed in the finally below
        except FileNotFoundError:
            raise StoreError(f"{self.path}: no such file")
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot open: {exc.strerror or exc}")
        try:
            yield from self._read(handle)
        finally:
            handle.close()

    def _read(self, handle) -> Iterator[Batch]:
        st = os.fstat(handle.fileno())
        c = self.cursor
        head = _head(handle)
        offset = int(c.get("offset", 0))
        if offset and (c.get("inode") != st.st_ino or c.get("dev") != st.st_dev or st.st_size < offset
                       or (c.get("head") and c.get("head") != head)):
            self.rotated = True
            offset = 0
            c = {}
        base = {"inode": st.st_ino, "dev": st.st_dev, "head": head if offset or head else None}
        line_no = int(c.get("line", 0)) if offset else 0
        last_time = c.get("last_time") if offset else None
        handle.seek(offset)
        self.total = None
        pending = b""
        groups: list[Group] = []
        errors: list[tuple[object, str, str]] = []
        lines = 0
        while True:
            data = handle.read(READ_SIZE)
            if not data:
                break
            data = pending + data
            end = data.rfind(b"\n")
            if end < 0:
                pending = data
                continue
            pending = data[end + 1:]
            complete = data[:end]
            items, numbers = [], []
            for raw in complete.split(b"\n"):
                line_no += 1
                offset += len(raw) + 1
                lines += 1
                if not raw.strip():
                    continue
                try:
                    item = loads_exact(raw)
                except (ValueError, UnicodeDecodeError) as exc:
                    errors.append((line_no, f"line {line_no}", f"not valid JSON: {exc}"))
                    continue
                if not isinstance(item, dict):
                    errors.append((line_no, f"line {line_no}", 'must be a JSON object with "type"'))
                    continue
                items.append(item)
                numbers.append(line_no)
            items, last_time = _prepared(items, last_time)
            groups.extend(Group(n, f"line {n}", [item]) for n, item in zip(numbers, items, strict=True))
            if len(groups) >= BATCH_LINES:
                yield Batch(groups=groups, cursor=self._cursor(base, offset, line_no, last_time), rows=lines,
                            errors=errors)
                groups, errors, lines = [], [], 0
        self.lag = timedelta(0)  # read to the last complete line: nothing in the file is left behind
        yield Batch(groups=groups, cursor=self._cursor(base, offset, line_no, last_time), rows=lines, errors=errors)

    @staticmethod
    def _cursor(base: dict, offset: int, line_no: int, last_time) -> dict:
        return {**base, "offset": offset, "line": line_no, "last_time": _plain(last_time)}


def _prepared(items: list[dict], last_time) -> tuple[list[dict], object]:
    """As import_events prepares a file's lines, carrying the previous line's time across passes:
    a first line without a time takes `last_time`; returns the lines and the time a next line
    without one would take."""
    # fill_missing_timestamps works on a whole sequence: a leading line carries the time in, a
    # trailing one (of a type with a time field, left without) carries the time out.
    framed = [{"type": "log", "timestamp": last_time} if last_time is not None else {"type": "log"},
              *items, {"type": "log"}]
    filled = fill_missing_timestamps(framed)
    return key_unkeyed_signals(filled[1:-1]), filled[-1].get("timestamp")


def _head(handle) -> str | None:
    """A hash of the file's first line (complete lines only), to tell a rewritten file from a grown one."""
    handle.seek(0)
    first = handle.read(HEAD_BYTES)
    end = first.find(b"\n")
    if end < 0 and len(first) < HEAD_BYTES:
        return None
    return hashlib.sha256(first[:end if end >= 0 else HEAD_BYTES]).hexdigest()[:32]


def _plain(value):
    from decimal import Decimal

    return str(value) if isinstance(value, Decimal) else value
