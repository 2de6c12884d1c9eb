"""Where queued items wait until tradebook acknowledges them: in memory, or in a SQLite
spool that survives a crash.

Both keep items in the order queued, each as the JSON text that will be sent, under a
sequence number that only grows. The sender reads the oldest items (`head`), and once
tradebook answered removes them (`remove`) or moves the refused ones aside (`set_aside`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple
from urllib.request import pathname2url

from ._items import loads
from .errors import SpoolLocked
from .models import Rejected

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class Entry(NamedTuple):
    seq: int
    type: str
    body: str  # the item's JSON text, sent as it is on every try


def _rejected(row: Tuple[Any, ...]) -> Rejected:
    rid, kind, body, status, errors, at = row
    return Rejected(id=rid, type=kind, item=loads(body), status=status, errors=loads(errors),
                    rejected_at=datetime.fromtimestamp(at, tz=timezone.utc))


class MemoryQueue:
    """Items in this process's memory: lost if it crashes or is killed (use a spool)."""

    durable = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: Dict[int, Tuple[str, str]] = {}  # seq -> (type, body), in insertion order
        self._rejected: Dict[int, Tuple[Rejected, str]] = {}  # id -> (what rejected() shows, the body)
        self._rejected_id = 0
        self._seq = 0

    def put(self, entries: Sequence[Tuple[str, str]]) -> None:
        with self._lock:
            for kind, body in entries:
                self._seq += 1
                self._pending[self._seq] = (kind, body)

    def head(self, limit: int) -> List[Entry]:
        with self._lock:
            out = []
            for seq, (kind, body) in self._pending.items():
                if len(out) >= limit:
                    break
                out.append(Entry(seq, kind, body))
            return out

    def remove(self, entries: Sequence[Entry]) -> None:
        with self._lock:
            for entry in entries:
                self._pending.pop(entry.seq, None)

    def set_aside(self, refused: Sequence[Tuple[Entry, int, List[Dict[str, Any]]]]) -> List[Rejected]:
        now = datetime.now(timezone.utc)
        out = []
        with self._lock:
            for entry, status, errors in refused:
                self._pending.pop(entry.seq, None)
                self._rejected_id += 1
                out.append(Rejected(id=self._rejected_id, type=entry.type, item=loads(entry.body),
                                    status=status, errors=errors, rejected_at=now))
                self._rejected[self._rejected_id] = (out[-1], entry.body)
        return out

    def rejected(self) -> List[Rejected]:
        with self._lock:
            return [rejected for rejected, _body in self._rejected.values()]

    def requeue(self, ids: Optional[Iterable[int]] = None) -> int:
        with self._lock:
            wanted = list(self._rejected) if ids is None else [i for i in ids if i in self._rejected]
            back = [self._rejected.pop(i) for i in wanted]
        self.put([(rejected.type, body) for rejected, body in back])
        return len(back)

    def last_seq(self) -> int:
        return self._seq

    def __len__(self) -> int:
        return len(self._pending)

    def close(self) -> None:
        pass


class _Ticket:
    __slots__ = ("entries", "done", "error")

    def __init__(self, entries: Sequence[Tuple[str, str]]) -> None:
        self.entries = entries
        self.done = False
        self.error: Optional[BaseException] = None


class Spool:
    """A SQLite file (WAL, synchronous=FULL): an item is on disk before `put` returns and leaves
    `pending` only once tradebook acknowledged it (or for the `rejected` table, with the error).

    Group commit: threads that queue while another's transaction is being written wait for
    the lock, and the first of them then writes every waiting item in one transaction — one
    fsync for all of them, and each call still returns only once its items are on disk.

    One spool, one live client: a lock file next to it (released by the OS when the process
    dies, even by kill -9) keeps a second client from sending the same items.
    """

    durable = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        self._lock_file = self._take_lock(self.path + ".lock")
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(
                """
                CREATE TABLE IF NOT EXISTS pending (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- only grows: the order items were queued
                    type TEXT NOT NULL,
                    body TEXT NOT NULL,  -- the JSON text sent, the same on every try
                    queued_at REAL NOT NULL
                );
                CREATE TABLE IF NOT EXISTS rejected (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    seq INTEGER NOT NULL,
                    type TEXT NOT NULL,
                    body TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    errors TEXT NOT NULL,  -- tradebook's errors for this item, JSON
                    rejected_at REAL NOT NULL
                );
                """
            )
            self._count = self._db.execute("SELECT count(*) FROM pending").fetchone()[0]
            self._seq = self._db.execute("SELECT coalesce(max(seq), 0) FROM pending").fetchone()[0]
        except BaseException:
            self._release_lock()
            raise
        self._lock = threading.Lock()  # the connection: one transaction at a time
        self._closed = False
        self._waiting_lock = threading.Lock()
        self._waiting: List[_Ticket] = []

    @staticmethod
    def _take_lock(path: str) -> Any:
        handle = open(path, "a+")
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                raise SpoolLocked(f"the spool {path[:-5]!r} is in use by another client (lock {path!r})")
        return handle

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing the descriptor releases the flock
            self._lock_file = None

    def put(self, entries: Sequence[Tuple[str, str]]) -> None:
        ticket = _Ticket(entries)
        with self._waiting_lock:
            self._waiting.append(ticket)
        with self._lock:
            if not ticket.done:  # else a thread before us wrote it with its own
                with self._waiting_lock:
                    group, self._waiting = self._waiting, []
                now = time.time()
                rows = [(kind, body, now) for t in group for kind, body in t.entries]
                try:
                    self._db.execute("BEGIN IMMEDIATE")
                    cursor = self._db.executemany("INSERT INTO pending (type, body, queued_at) VALUES (?, ?, ?)", rows)
                    del cursor
                    self._db.execute("COMMIT")
                except BaseException as exc:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    for t in group:
                        t.error = exc
                else:
                    self._count += len(rows)
                    self._seq = self._db.execute("SELECT max(seq) FROM pending").fetchone()[0] or self._seq
                for t in group:
                    t.done = True
        if ticket.error is not None:
            raise ticket.error

    def head(self, limit: int) -> List[Entry]:
        with self._lock:
            return [Entry(*row) for row in self._db.execute(
                "SELECT seq, type, body FROM pending ORDER BY seq LIMIT ?", (limit,))]

    def remove(self, entries: Sequence[Entry]) -> None:
        if not entries:
            return
        with self._lock:
            # The entries are the oldest pending rows, minus any set aside: every row between
            # the first and the last is one of them (a new row's seq is above any old one).
            self._db.execute("BEGIN IMMEDIATE")
            try:
                deleted = self._db.execute("DELETE FROM pending WHERE seq BETWEEN ? AND ?",
                                           (entries[0].seq, entries[-1].seq)).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._count -= deleted

    def set_aside(self, refused: Sequence[Tuple[Entry, int, List[Dict[str, Any]]]]) -> List[Rejected]:
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                ids = []
                for entry, status, errors in refused:
                    cursor = self._db.execute(
                        "INSERT INTO rejected (seq, type, body, status, errors, rejected_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (entry.seq, entry.type, entry.body, status, json.dumps(errors, default=str), now))
                    ids.append(cursor.lastrowid)
                    self._db.execute("DELETE FROM pending WHERE seq = ?", (entry.seq,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._count -= len(refused)
        at = datetime.fromtimestamp(now, tz=timezone.utc)
        return [Rejected(id=rid, type=entry.type, item=loads(entry.body), status=status, errors=errors,
                         rejected_at=at) for rid, (entry, status, errors) in zip(ids, refused)]

    def rejected(self) -> List[Rejected]:
        query = "SELECT id, type, body, status, errors, rejected_at FROM rejected ORDER BY id"
        with self._lock:
            if not self._closed:
                rows = self._db.execute(query).fetchall()
            else:  # still readable once the client is closed
                db = sqlite3.connect(f"file:{pathname2url(os.path.abspath(self.path))}?mode=ro", uri=True)
                try:
                    rows = db.execute(query).fetchall()
                finally:
                    db.close()
        return [_rejected(row) for row in rows]

    def requeue(self, ids: Optional[Iterable[int]] = None) -> int:
        where: str = ""
        args: Tuple[int, ...] = ()
        if ids is not None:
            wanted = tuple(int(i) for i in ids)
            if not wanted:
                return 0
            where, args = f" WHERE id IN ({','.join('?' * len(wanted))})", wanted
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                moved = self._db.execute(
                    f"INSERT INTO pending (type, body, queued_at) SELECT type, body, ? FROM rejected{where} ORDER BY id",
                    (time.time(), *args)).rowcount
                self._db.execute(f"DELETE FROM rejected{where}", args)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._count += moved
            self._seq = self._db.execute("SELECT coalesce(max(seq), 0) FROM pending").fetchone()[0]
        return moved

    def last_seq(self) -> int:
        return self._seq

    def __len__(self) -> int:
        return self._count

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._db.close()
            finally:
                self._release_lock()
