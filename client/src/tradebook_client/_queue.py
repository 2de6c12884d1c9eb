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
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple
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
            out: List[Entry] = []
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

    def settle(self) -> None:
        pass

    def last_seq(self) -> int:
        return self._seq

    def __len__(self) -> int:
        return len(self._pending)

    def close(self) -> None:
        pass


class _Ticket:
    """One caller's writes, waiting for a transaction (its own or another caller's)."""

    __slots__ = ("write", "done", "error", "result")

    def __init__(self, write: Callable[[sqlite3.Connection], Any]) -> None:
        self.write = write
        self.done = False
        self.error: Optional[BaseException] = None
        self.result: Any = None


class Spool:
    """A SQLite file (WAL, synchronous=FULL): an item is on disk before `put` returns and leaves
    `pending` only once tradebook acknowledged it (or for the `rejected` table, with the error).

    Group commit: every write (items queued, items acknowledged, items set aside) is a ticket.
    A caller that finds no transaction under way writes every ticket waiting at that moment in
    one transaction — one fsync for all of them — and each caller returns only once its own
    ticket is committed. So threads queueing at once share commits, and the sender's
    acknowledgements ride along with them instead of queueing for the lock.

    The sender reads the oldest items on a connection of its own: in WAL mode a reader neither
    waits for the writer nor holds it up.

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
            self._db = self._connect()
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
            self._reader = self._connect()
            self._count = self._db.execute("SELECT count(*) FROM pending").fetchone()[0]
            self._seq = self._db.execute("SELECT coalesce(max(seq), 0) FROM pending").fetchone()[0]
        except BaseException:
            self._release_lock()
            raise
        self._lock = threading.Lock()  # the writing connection: one transaction at a time
        self._read_lock = threading.Lock()
        self._closed = False
        self._arrived = threading.Condition()  # guards _waiting and _writing; notified when a transaction ends
        self._waiting: List[_Ticket] = []
        self._writing = False
        self._acknowledged: List[Tuple[int, int]] = []  # seq ranges acknowledged, not yet deleted on disk
        self._done_upto = 0  # every pending row up to this seq is acknowledged (or set aside)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=60)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        return db

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

    def _commit(self, write: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run `write` in a committed transaction, shared with whatever else is waiting; its result.

        Callers wait on one condition, not on the connection's lock: when a transaction ends,
        every caller it carried wakes at once, and the first caller still waiting takes every
        ticket queued meanwhile into the next transaction. (Waiting on the lock instead, the
        callers wake one by one, and each commit carries one or two of them.)"""
        ticket = _Ticket(write)
        with self._arrived:
            self._waiting.append(ticket)
            while not ticket.done and self._writing:
                self._arrived.wait()
            if not ticket.done:
                self._writing = True
                group, self._waiting = self._waiting, []
        if not ticket.done:
            self._write_group(group)
        if ticket.error is not None:
            raise ticket.error
        return ticket.result

    def _write_group(self, group: List[_Ticket]) -> None:
        db = self._db
        with self._arrived:
            acknowledged, self._acknowledged = self._acknowledged, []
        try:
            with self._lock:
                try:
                    db.execute("BEGIN IMMEDIATE")
                    db.executemany("DELETE FROM pending WHERE seq BETWEEN ? AND ?", acknowledged)
                    results = [t.write(db) for t in group]
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    with self._arrived:
                        self._acknowledged[:0] = acknowledged  # deleted with a later transaction
                    # The writes counted their rows as they went: count again what is there.
                    self._count = db.execute("SELECT count(*) FROM pending WHERE seq > ?",
                                             (self._done_upto,)).fetchone()[0]
                    raise
        except BaseException as exc:
            for t in group:
                t.error = exc
        else:
            for t, result in zip(group, results):
                t.result = result
        finally:
            with self._arrived:
                for t in group:
                    t.done = True
                self._writing = False
                self._arrived.notify_all()

    def put(self, entries: Sequence[Tuple[str, str]]) -> None:
        now = time.time()

        def insert(db: sqlite3.Connection) -> None:
            db.executemany("INSERT INTO pending (type, body, queued_at) VALUES (?, ?, ?)",
                           [(kind, body, now) for kind, body in entries])
            # Counted inside the transaction: a caller whose ticket another thread wrote sees it
            # done with the count already up to date. (A rollback raises to every caller.)
            self._count += len(entries)
            self._seq = db.execute("SELECT last_insert_rowid()").fetchone()[0]

        self._commit(insert)

    def head(self, limit: int) -> List[Entry]:
        with self._read_lock:
            return [Entry(*row) for row in self._reader.execute(
                "SELECT seq, type, body FROM pending WHERE seq > ? ORDER BY seq LIMIT ?", (self._done_upto, limit))]

    def remove(self, entries: Sequence[Entry]) -> None:
        """Acknowledged: gone from `head` and the count at once; deleted from the file by the next
        transaction (a caller queueing, or `settle`). The sender need not wait for a disk flush
        before its next request — and a crash before the delete only sends them again, which
        tradebook answers as duplicates."""
        if not entries:
            return
        with self._arrived:
            # The entries are the oldest pending rows, minus any set aside: every row between the
            # first and the last is one of them (a new row's seq is above any old one).
            self._acknowledged.append((entries[0].seq, entries[-1].seq))
            self._done_upto = max(self._done_upto, entries[-1].seq)
            self._count -= len(entries)

    def settle(self) -> None:
        """Delete what was acknowledged from the file now (the sender calls it when it goes idle)."""
        if self._acknowledged:
            self._commit(lambda db: None)

    def set_aside(self, refused: Sequence[Tuple[Entry, int, List[Dict[str, Any]]]]) -> List[Rejected]:
        now = time.time()

        def move(db: sqlite3.Connection) -> List[int]:
            ids: List[int] = []
            for entry, status, errors in refused:
                cursor = db.execute(
                    "INSERT INTO rejected (seq, type, body, status, errors, rejected_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (entry.seq, entry.type, entry.body, status, json.dumps(errors, default=str), now))
                ids.append(int(cursor.lastrowid or 0))
                self._count -= db.execute("DELETE FROM pending WHERE seq = ?", (entry.seq,)).rowcount
            return ids

        ids = self._commit(move)
        at = datetime.fromtimestamp(now, tz=timezone.utc)
        return [Rejected(id=rid, type=entry.type, item=loads(entry.body), status=status, errors=errors,
                         rejected_at=at) for rid, (entry, status, errors) in zip(ids, refused)]

    def rejected(self) -> List[Rejected]:
        query = "SELECT id, type, body, status, errors, rejected_at FROM rejected ORDER BY id"
        with self._read_lock:
            if not self._closed:
                rows = self._reader.execute(query).fetchall()
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

        def move(db: sqlite3.Connection) -> int:
            moved = db.execute(
                f"INSERT INTO pending (type, body, queued_at) SELECT type, body, ? FROM rejected{where} ORDER BY id",
                (time.time(), *args)).rowcount
            db.execute(f"DELETE FROM rejected{where}", args)
            self._count += moved
            self._seq = db.execute("SELECT coalesce(max(seq), 0) FROM pending").fetchone()[0]
            return int(moved)

        return int(self._commit(move))

    def last_seq(self) -> int:
        return int(self._seq)

    def __len__(self) -> int:
        return int(self._count)

    def close(self) -> None:
        if not self._closed:
            self.settle()
        with self._lock, self._read_lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._reader.close()
                self._db.close()
            finally:
                self._release_lock()
