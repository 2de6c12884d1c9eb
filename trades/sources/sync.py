"""Syncing a source: what is new in a bot's store, booked exactly once (SPEC 6).

    sync_source(source_id=…, full=False) -> SyncResult

A sync reads the store by the source's cursor (`trades.sources.freqtrade`, `hummingbot`,
`jsonl`), in batches. Each batch is ONE transaction of tradebook's database: its items
are written through `trades.ingest.record` (the write service every door uses) and the
source's cursor is stored beside them. A sync that dies — a killed worker, a lost
connection — loses only its open batch: nothing of it was booked and the cursor still
says so, and the next sync reads it again. Batches rather than one transaction for the
whole sync: a first sync of years of history commits as it goes (a killed one resumes
where it was), and on SQLite the writer lock is not held by one sync for minutes.

Exactly once, three ways:
- keys: every item's key is derived from the store's own ids, so a batch read twice is
  a duplicate, never a second booking (`record` decides);
- the cursor, moved in the transaction that books what it covers;
- one sync of a source at a time: on PostgreSQL a session advisory lock on the source,
  taken without waiting (a second sync at the same time skips, and says so); and on any
  database a generation number in the cursor, checked under the source row's lock in
  every batch, so two syncs that overlapped anyway (SQLite has no advisory lock) cannot
  both move the cursor: the later one stops.

Re-read rows (freqtrade's open trades are read again every pass) would journal their
items again as duplicates every minute: items already booked are left out before
`record` — fills and cash flows by key, a trade's open and close once the trade is
closed (an open trade of the same key from another door still meets the open, and a
difference is reported), an order once a state as new is booked. `full=True` re-reads
the store from the start and sends everything: `record` then reports any row the bot
changed after it was booked, as a conflict.

An item `record` refuses (400/409) does not stop the source: its group — a freqtrade
trade, a JSONL line, a hummingbot row — is left out, the rest is booked, and the source's
`last_error` and the log name it. freqtrade trades refused are read again at every pass
(the cursor keeps them), in case they can be booked later.

A store that cannot be read keeps its error on the source (`last_error`, `error_count`)
and in the log; the task ends normally, and the next round tries again. Other sources
are not affected: each has its own task.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account
from core.errors import BadValue, TradebookError
from core.progress import Progress
from core.times import iso, parse_time
from trades.ingest import record
from trades.models import CashFlow, Fill, Order, Source, SourceKind, Trade, TradeStatus
from trades.sources.batches import Batch, Group
from trades.sources.db import StoreDatabase, StoreError, shown_url

logger = logging.getLogger(__name__)

# Items per record() call. The service works through a call in parts (pipelined on
# PostgreSQL); bigger calls only add memory, smaller ones add a round of checks per call.
RECORD_ITEMS = 1000
MAX_ROUNDS = 6  # rounds of leaving refused groups out of a part before giving up on it
# The advisory-lock space of sources: (SOURCE_LOCK, source id) is the lock of one source.
SOURCE_LOCK = 0x73726373  # "srcs"
CHANNELS = {SourceKind.FREQTRADE: "source.freqtrade", SourceKind.HUMMINGBOT: "source.hummingbot",
            SourceKind.JSONL: "source.jsonl"}
MAX_ERROR_TEXT = 4000


class Superseded(Exception):
    """Another sync of the same source moved its cursor while this one ran: this one stops."""


@dataclass
class SyncResult:
    source: str
    status: str = "done"  # done, skipped (another sync runs), failed (the store could not be read)
    rows: int = 0  # rows of the store read
    counts: dict[str, int] = field(default_factory=lambda: {"created": 0, "duplicate": 0, "updated": 0})
    refused: list[str] = field(default_factory=list)  # "trade 7: why"
    error: str = ""
    lag: timedelta | None = None

    def line(self) -> str:
        if self.status == "skipped":
            return f"{self.source}: skipped: {self.error}"
        if self.status == "failed":
            return f"{self.source}: failed: {self.error}"
        text = (f"{self.source}: {self.rows} rows read; {self.counts['created']} created, "
                f"{self.counts['duplicate']} duplicate, {self.counts['updated']} updated")
        if self.refused:
            text += f"; {len(self.refused)} refused (first: {self.refused[0]})"
        if self.lag is not None:
            text += f"; lag {self.lag.total_seconds():g}s"
        return text + "."


def sync_source(*, source_id: int, full: bool = False, progress: Progress | None = None) -> SyncResult:
    """Sync one source now (see the module's docstring). Never raises for the store's faults:
    they are the result's `failed` and the source's `last_error`."""
    source = Source.objects.select_related("account").get(pk=source_id)
    result = SyncResult(source=source.name)
    with _exclusive(source.pk) as mine:
        if not mine:
            result.status, result.error = "skipped", "another sync of this source is running"
            return result
        try:
            _run(source, full=full, progress=progress, result=result)
        except Superseded:
            result.status, result.error = "skipped", "another sync of this source moved its cursor meanwhile"
            return result
        except (StoreError, TradebookError, BadValue, OSError, UnicodeError, ValueError) as exc:
            message = _text(exc)
            _failed(source.pk, message)
            logger.warning("source %s: sync failed: %s", source.name, message)
            result.status, result.error = "failed", message
            return result
        except Exception as exc:
            # A fault of ours (our database went away, a bug): kept on the source, and raised for
            # the task's retries and its traceback in the log.
            try:
                _failed(source.pk, f"{type(exc).__name__}: {exc}")
            except Exception:  # noqa: BLE001 - our database is what failed; the raise below says so
                pass
            raise
    return result


def _run(source: Source, *, full: bool, progress: Progress | None, result: SyncResult) -> None:
    account = source.account
    cursor = {} if full else dict(source.cursor or {})
    generation = (source.cursor or {}).get("generation", 0)
    rejected: dict[str, str] = {} if full else dict(cursor.get("rejected", {}))
    booked_newest = None if full else _time(cursor.get("booked_newest"))
    reader, closing = _reader(source, cursor, full=full)
    try:
        for batch in _read_ahead(reader.batches()):
            if progress is not None and progress.total is None and getattr(reader, "total", None) is not None:
                progress.total = reader.total
            groups = batch.groups if full else _unbooked(account, batch.groups)
            for key, label, why in batch.errors:
                result.refused.append(f"{label}: {why}")
                rejected[str(key)] = why
            with transaction.atomic():
                row = Source.objects.select_for_update().only("cursor").get(pk=source.pk)
                if (row.cursor or {}).get("generation", 0) != generation:
                    raise Superseded()
                booked, refused = _record(account, groups, channel=CHANNELS[source.kind])
                for key, value in booked.items():
                    result.counts[key] += value
                for group, why in refused:
                    result.refused.append(f"{group.label}: {why}")
                    rejected[str(group.key)] = why
                still = {str(group.key) for group, _why in refused} | {str(key) for key, _l, _w in batch.errors}
                for group in batch.groups:
                    if str(group.key) not in still:
                        rejected.pop(str(group.key), None)
                if batch.newest is not None and (booked_newest is None or batch.newest > booked_newest):
                    booked_newest = batch.newest
                generation += 1
                new_cursor = {**batch.cursor, "generation": generation,
                              "booked_newest": iso(booked_newest) if booked_newest else None}
                if source.kind == SourceKind.FREQTRADE:
                    new_cursor["rejected"] = rejected
                Source.objects.filter(pk=source.pk).update(cursor=new_cursor)
            result.rows += batch.rows
            if progress is not None:
                progress.advance(batch.rows)
    finally:
        closing()
    newest = getattr(reader, "source_newest", None)
    lag = None
    if newest is not None:
        lag = max(timedelta(0), newest - booked_newest) if booked_newest is not None else None
    elif hasattr(reader, "lag"):
        lag = reader.lag
    result.lag = lag
    now = timezone.now()
    Source.objects.filter(pk=source.pk).update(
        last_sync_at=now, last_success_at=now, error_count=0, lag=lag,
        last_error=_clip("; ".join(result.refused)) if result.refused else "")


def _read_ahead(batches: Iterator[Batch]) -> Iterator[Batch]:
    """The reader's batches, the next one read and translated (in a thread) while this one is booked.

    Reading the bot's store and translating its rows is about a quarter of a sync; booking
    waits on our database for much of the rest, and the thread runs then. One batch ahead at
    most: memory stays one batch, and a sync that stops leaves the store read no further."""
    out: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        out.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            out.put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            out.put(exc)

    thread = threading.Thread(target=produce, name="source-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = out.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=30)


def _reader(source: Source, cursor: dict, *, full: bool):
    """The store's reader for this pass, and what closes its connection."""
    from trades.sources import freqtrade, hummingbot, jsonl

    if source.kind == SourceKind.JSONL:
        return jsonl.JsonlReader(source.location, cursor), lambda: None
    db = StoreDatabase(source.location)
    if source.kind == SourceKind.FREQTRADE:
        return freqtrade.FreqtradeReader(db, cursor, chunk=freqtrade.CHUNK), db.close
    return hummingbot.HummingbotReader(db, cursor, chunk=hummingbot.CHUNK), db.close


# -- booking ---------------------------------------------------------------------------------------

def _record(account: Account, groups: list[Group], *, channel: str) -> tuple[dict[str, int], list]:
    """Book the groups' items in parts; a group with an item `record` refuses is left out
    (its part is tried again without it). (counts, [(group, why)])."""
    counts = {"created": 0, "duplicate": 0, "updated": 0}
    refused: list[tuple[Group, str]] = []
    for part in _parts(groups):
        for _round in range(MAX_ROUNDS):
            items, owner = [], []
            for group in part:
                items.extend(group.items)
                owner.extend([group] * len(group.items))
            if not items:
                break
            try:
                result = record(accounts=[account], items=items, channel=channel, default_account=account)
            except TradebookError as exc:
                bad = {}
                for error in exc.errors:
                    index = error.get("index")
                    if not isinstance(index, int) or not 0 <= index < len(owner):
                        raise  # about the request as a whole: nothing to leave out
                    group = owner[index]
                    if id(group) not in bad:
                        field_name = f"{error['field']}: " if error.get("field") else ""
                        bad[id(group)] = (group, f"{group.items[0].get('type')}"
                                                 f"{_item_name(items[index])}: {field_name}{error['message']}")
                refused.extend(bad.values())
                part = [g for g in part if id(g) not in bad]
                continue
            for key, value in result.counts.items():
                counts[key] = counts.get(key, 0) + value
            break
        else:
            raise TradebookError(f"items still refused after {MAX_ROUNDS} rounds of leaving refused ones out")
    return counts, refused


def _item_name(item: dict) -> str:
    return f" {item['id']!r}" if isinstance(item, dict) and item.get("id") is not None else ""


def _parts(groups: list[Group]) -> Iterable[list[Group]]:
    """Whole groups, about RECORD_ITEMS items a part."""
    part, size = [], 0
    for group in groups:
        part.append(group)
        size += len(group.items)
        if size >= RECORD_ITEMS:
            yield part
            part, size = [], 0
    if part:
        yield part


def _unbooked(account: Account, groups: list[Group]) -> list[Group]:
    """The groups with only their items not booked yet (a group left with none is dropped)."""
    fills: set[str] = set()
    symbols: set[str] = set()
    flows: set[str] = set()
    trades: set[str] = set()
    orders: set[str] = set()
    for group in groups:
        for item in group.items:
            kind = item.get("type")
            if kind == "fill":
                fills.add(str(item["id"]))
                symbols.add(item["symbol"])
            elif kind == "cashflow":
                flows.add(str(item["id"]))
            elif kind in ("trade.open", "trade.close"):
                trades.add(str(item["id"]))
            elif kind == "order":
                orders.add(str(item["id"]))
    if not (fills or flows or trades or orders):
        return groups
    # With their symbols: the fills' key index is (account, symbol, id).
    booked_fills = _existing(Fill.objects.filter(account=account, symbol__in=sorted(symbols)), fills,
                             ("symbol", "external_id"))
    booked_flows = {k for (k,) in _existing(CashFlow.objects.filter(account=account), flows, ("external_id",))}
    booked_trades = dict(_existing(Trade.objects.filter(account=account), trades, ("external_id", "status")))
    booked_orders = dict(_existing(Order.objects.filter(account=account), orders, ("external_id", "updated_at")))
    out = []
    for group in groups:
        left = [item for item in group.items
                if not _is_booked(item, booked_fills, booked_flows, booked_trades, booked_orders)]
        if left:
            out.append(Group(group.key, group.label, left) if len(left) != len(group.items) else group)
    return out


def _is_booked(item: dict, fills, flows, trades, orders) -> bool:
    kind = item.get("type")
    if kind == "fill":
        return (item["symbol"], str(item["id"])) in fills
    if kind == "cashflow":
        return str(item["id"]) in flows
    if kind == "trade.open":
        # Left out only once the trade is closed: an open trade of that key (another door's) must
        # meet this open in `record`, which says if they differ, before this close is applied to it.
        return trades.get(str(item["id"])) == TradeStatus.CLOSED
    if kind == "trade.close":
        return trades.get(str(item["id"])) == TradeStatus.CLOSED
    if kind == "order":
        stored = orders.get(str(item["id"]))
        try:
            return stored is not None and stored >= parse_time(item["updated_at"], bounded=False)
        except BadValue:
            return False  # record() says what is wrong with it
    return False


def _existing(queryset, keys: set[str], columns: tuple[str, ...]) -> set[tuple]:
    """The rows among `keys` (external ids) that exist, as tuples of `columns`."""
    out: set[tuple] = set()
    keys = sorted(keys)
    for start in range(0, len(keys), 1000):
        out.update(queryset.filter(external_id__in=keys[start:start + 1000]).values_list(*columns))
    return out


# -- one sync at a time ----------------------------------------------------------------------------

class _exclusive:  # noqa: N801 - used as a context manager, like a function
    """PostgreSQL: a session advisory lock on the source, tried without waiting; yields whether
    it is ours. Elsewhere True (the generation check in every batch stops an overlapping sync)."""

    def __init__(self, source_id: int):
        self.source_id = source_id
        self.held = False

    def __enter__(self) -> bool:
        if connection.vendor != "postgresql":
            return True
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [SOURCE_LOCK, self.source_id])
            self.held = bool(cursor.fetchone()[0])
        return self.held

    def __exit__(self, *exc) -> None:
        if self.held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [SOURCE_LOCK, self.source_id])


# -- the source's state ----------------------------------------------------------------------------

def _failed(source_id: int, message: str) -> None:
    from django.db.models import F

    Source.objects.filter(pk=source_id).update(last_sync_at=timezone.now(), last_error=_clip(message),
                                               error_count=F("error_count") + 1)


def _text(exc: Exception) -> str:
    if isinstance(exc, TradebookError):
        return "; ".join(f"{e['field']}: {e['message']}" if e.get("field") else e["message"] for e in exc.errors)
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    return str(exc) or type(exc).__name__


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_TEXT else text[:MAX_ERROR_TEXT - 1] + "…"


def _time(value) -> datetime | None:
    if not value:
        return None
    try:
        return parse_time(value, bounded=False)
    except BadValue:
        return None


def describe(source: Source) -> str:
    """A source's location as shown (a database URL without its password)."""
    return shown_url(source.location) if source.kind != SourceKind.JSONL else source.location
