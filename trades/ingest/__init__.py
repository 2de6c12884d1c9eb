"""Ingest: posted items -> ledger rows, journal and books, in one transaction (SPEC 4.1).

The one service behind every door that writes what bots did: the write API, the
native-format endpoints (Bybit, CCXT) and the importers all call `record()`.

    record(accounts=[...], items=[...], token=..., channel="api", item_type="fill")

Rules it keeps (SPEC 4.1): every error of a request at once (400); duplicates by
booked content (compared as decimals) are reported, not written; the same key with
other booked content is a 409 naming the item and the fields, and nothing of the
request is written; every accepted item is journaled in the same transaction; the
books follow the new fills before the transaction commits.
"""

import gc
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import DataError, IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from accounts.errors import TradebookError
from accounts.models import Account, ApiToken
from accounts.values import decimal_str
from trades.ingest import store
from trades.ingest.schema import ITEM_TYPES
from trades.ingest.sql import pipelined, send_columns
from trades.ingest.store import CREATED, DUPLICATE, UPDATED, RetryRequest
from trades.ingest.validate import Item, check_items, raise_errors

__all__ = ["IngestResult", "record", "ITEM_TYPES", "no_cyclic_gc"]

# A request that loses a race it cannot settle in place (a serialization failure, a
# deadlock, an order created concurrently) runs again, this many times at most.
MAX_ATTEMPTS = 4
TRANSIENT_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
NUMERIC_OUT_OF_RANGE = "22003"  # PostgreSQL's numeric field overflow; accounts.fields.NumericOverflow on SQLite


@dataclass
class IngestResult:
    results: list[dict] = field(default_factory=list)  # [{"index", "status", "id"}], in posted order
    counts: dict[str, int] = field(default_factory=lambda: {CREATED: 0, DUPLICATE: 0, UPDATED: 0})

    @property
    def created(self) -> bool:
        return self.counts[CREATED] > 0

    def as_dict(self) -> dict:
        return {"results": self.results, "counts": self.counts}


def record(
    *, accounts: Sequence[Account], items: Sequence[Any], token: ApiToken | None = None, channel: str = "api",
    item_type: str | None = None, default_account: Account | None = None,
) -> IngestResult:
    """Write `items` for the caller whose scope is `accounts`; raise TradebookError (400/404/409).

    `item_type` is the endpoint's type; None means each item names its `type` (older
    JSONL lines are translated first). `default_account` (e.g. `?account=`) is used for
    items that name none.
    """
    with no_cyclic_gc():
        return _record(accounts=accounts, items=items, token=token, channel=channel, item_type=item_type,
                       default_account=default_account)


# A batch allocates dozens of containers per item and frees them by reference counting.
# Left on, the cyclic collector keeps running passes over every object of the process while
# a 1,000-item batch is built: a third of the write path's own CPU (measured). It is held off
# while any thread is recording (a process-wide switch, hence the count) and is back on after,
# when the little cyclic garbage a request leaves (e.g. an exception's traceback) is collected.
_gc_lock = threading.Lock()
_gc_holders = 0
_gc_was_enabled = False


@contextmanager
def no_cyclic_gc():
    global _gc_holders, _gc_was_enabled
    with _gc_lock:
        if _gc_holders == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_holders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holders -= 1
            if _gc_holders == 0 and _gc_was_enabled:
                gc.enable()


@dataclass(frozen=True)
class _Request:
    """What a request posted and on whose behalf."""

    items: Sequence[Any]
    accounts: Sequence[Account]
    item_type: str | None
    default_account: Account | None
    translate: Callable[[dict], dict] | None
    token: ApiToken | None
    channel: str


def _record(
    *, accounts: Sequence[Account], items: Sequence[Any], token: ApiToken | None, channel: str,
    item_type: str | None, default_account: Account | None,
) -> IngestResult:
    request = _Request(items=items, accounts=accounts, item_type=item_type, default_account=default_account,
                       translate=_legacy_translate() if item_type is None else None, token=token, channel=channel)
    attempt = 0
    while True:
        attempt += 1
        outer = connection.in_atomic_block
        try:
            with transaction.atomic():
                return _write(request)
        except IntegrityError:
            # Our writes name only rows that exist; a reference the database refuses can only be
            # a remembered bot deleted behind the application's back: forget them all.
            store.forget_bots()
            raise
        except DataError as exc:
            # The validator lets through only values the database takes, so this is one the books
            # computed from the items (a position, a PnL) that does not fit numeric(38,18): the
            # items are what is wrong, the caller's 400. Any other refusal is said as it is.
            if NUMERIC_OUT_OF_RANGE in (getattr(exc, "sqlstate", None), getattr(exc.__cause__, "sqlstate", None)):
                raise TradebookError(f"a value computed from these items does not fit numeric(38,18): {exc}")
            raise TradebookError(f"the database refused a value of these items: {exc}")
        except (RetryRequest, OperationalError) as exc:
            if outer or attempt >= MAX_ATTEMPTS or not _transient(exc):
                if isinstance(exc, RetryRequest):
                    raise TradebookError("concurrent writes of the same items; retry the request", status=409)
                raise
            # The next attempt checks the items afresh: nothing of this one is kept.


def _transient(exc: Exception) -> bool:
    if isinstance(exc, RetryRequest):
        return True
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) in TRANSIENT_SQLSTATES or "database is locked" in str(exc)


def _legacy_translate() -> Callable[[dict], dict] | None:
    """The older JSONL lines' translator (trades.ingest.formats.legacy), when it is installed."""
    try:
        from trades.ingest.formats.legacy import translate
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("trades.ingest.formats"):
            return None
        raise
    return translate


def _default_source(channel: str) -> str:
    if channel.startswith("ingest."):
        return "exchange"
    if channel.startswith("import"):
        return "import"
    return "bot"


def _prepare(items: list[Item], source: str, errors: list[dict]) -> None:
    """Type-specific shaping that needs more than one field; errors appended to `errors`."""
    for item in items:
        if item.type.name != "fill":
            continue
        values = item.values
        fees = values.pop("fees", None)
        if fees is not None:
            if "fee" in values or "fee_currency" in values:
                errors.append({"index": item.index, "field": "fees", "message": "give fee/fee_currency or fees, not both"})
                continue
            if fees:
                values["fee"], values["fee_currency"] = fees[0]
            values["other_fees"] = [{"amount": decimal_str(a), "currency": c} for a, c in fees[1:]]
        values.setdefault("source", source)


STATUS_PRIORITY = (409, 404, 400)


# A request is checked and sent in parts of this many items: on PostgreSQL the server
# inserts one part while the next is checked (pipeline mode), so a batch costs about the
# larger of its Python and its SQL, not their sum (a 1,000-fill batch: 54 -> ~46 ms, measured).
PART = 125


def _write(request: _Request) -> IngestResult:
    """One request, inside its transaction. The items are checked part by part; while no error
    is found, each part's keyed items go to the database at once, one statement per account and
    type (fills, cash flows, marks, snapshots, signals, trade opens). Once every item is checked
    (every error at once, and then nothing is kept), the keyed outcomes are settled; per account
    orders follow, then trade updates and closes in the order posted, then voids; then the books
    and the journal (sent before the books are computed, so the server can write it meanwhile).
    So a mixed /events/ request may open, change and close a trade, or post and void a fill."""
    from trades import books

    received_at = timezone.now()
    problems: list[dict] = []
    created_rows: dict[int, dict[str, list]] = defaultdict(dict)  # per account and type: (item, pk, row)
    items = _check_and_send(request, received_at=received_at, problems=problems, created_rows=created_rows)
    by_account: dict[int, list[Item]] = defaultdict(list)
    for item in items:
        by_account[item.account.pk].append(item)
    created_fills: dict[int, list] = defaultdict(list)
    voided: dict[int, set[str]] = defaultdict(set)
    for account_items in by_account.values():
        account = account_items[0].account
        by_type: dict[str, list[Item]] = defaultdict(list)
        for item in account_items:
            by_type[item.type.name].append(item)
        if by_type.get("order"):
            store.store_orders(account=account, items=by_type["order"], received_at=received_at, problems=problems)
        for item in account_items:  # a trade's life in the order posted: open (above), update, close
            if item.type.name == "trade.update":
                store.update_trade(account=account, item=item, received_at=received_at, problems=problems)
            elif item.type.name == "trade.close":
                store.close_trade(account=account, item=item, received_at=received_at, problems=problems)
        if by_type.get("fill.void"):
            store.void_fills(account=account, items=by_type["fill.void"], received_at=received_at,
                             problems=problems, voided_symbols=voided[account.pk])
        for item in by_type.get("log", ()):
            item.outcome = CREATED
        if created_rows[account.pk].get("fill"):
            created_fills[account.pk].extend(_loaded_fills(created_rows[account.pk]["fill"]))
    if problems:
        statuses = {p.get("status", 409) for p in problems}
        status = next(s for s in STATUS_PRIORITY if s in statuses)
        raise TradebookError([{k: v for k, v in p.items() if k != "status"} for p in problems], status=status)
    # The books' states are locked and read first; then the journal is sent, and on
    # PostgreSQL the server inserts it while Python computes the books (pipeline mode; not
    # when a symbol is rebuilt from its fills: that reads them by COPY, which a pipeline refuses).
    pending = [books.lock_for_fills(account=by_account[account_id][0].account, fills=fills)
               for account_id, fills in created_fills.items()]
    rebuilds = any(voided.values()) or any(booking.recompute for booking in pending)
    with pipelined(len(items) > PART and not rebuilds):
        journaled = _send_journal(items, token=request.token, channel=request.channel, received_at=received_at)
        for booking in pending:
            booking.book()
        for account_id, symbols in voided.items():
            if symbols:
                books.recompute_symbols(account=by_account[account_id][0].account, symbols=symbols)
        for item, (pk,) in zip(items, journaled(), strict=True):
            if item.type.name == "log":
                item.extra["pk"] = pk
    return _result(items)


def _check_and_send(request: _Request, *, received_at: datetime, problems: list[dict],
                    created_rows: dict[int, dict[str, list]]) -> list[Item]:
    """Check the items part by part, sending each part's keyed items while no error is found;
    raise every error at once; settle the keyed outcomes. The checked items, in posted order."""
    errors: list[dict] = []
    items: list[Item] = []
    source = _default_source(request.channel)
    writers: dict[tuple[int, str], store.KeyedWriter] = {}
    posted = request.items
    with pipelined(len(posted) > PART):
        for start in range(0, len(posted), PART):
            part = check_items(posted[start:start + PART], item_type=request.item_type, accounts=request.accounts,
                               default_account=request.default_account, translate=request.translate,
                               start=start, errors=errors)
            _prepare(part, source, errors)
            items.extend(part)
            if errors:
                continue  # the rest is checked, not sent: every error at once, nothing written
            store.register_bots(part)
            keyed: dict[tuple[int, str], list[Item]] = defaultdict(list)
            for item in part:
                if item.type.name in store.KEYED:
                    keyed[(item.account.pk, item.type.name)].append(item)
            for (account_id, type_name), group in sorted(keyed.items(), key=_keyed_order):
                writer = writers.get((account_id, type_name))
                if writer is None:
                    writer = writers[(account_id, type_name)] = store.KeyedWriter(
                        account=group[0].account, type_name=type_name, received_at=received_at,
                        problems=problems, created_rows=created_rows[account_id])
                writer.add(group)
    raise_errors(errors)
    for writer in writers.values():
        writer.finish()
    return items


def _keyed_order(entry: tuple[tuple[int, str], list]) -> tuple[int, int]:
    (account_id, type_name), _items = entry
    return account_id, store.KEYED_ORDER.index(type_name)


def _loaded_fills(created: list) -> list:
    """The Fill rows just inserted, as the ORM would load them, from (item, pk, row) — without
    Model.__init__'s cost: a batch of 10,000 fills would spend more here than in the INSERT."""
    from django.db.models.base import ModelState

    from trades.models import Fill

    new = Fill.__new__
    fills = []
    for _item, pk, row in created:
        fill = new(Fill)
        attributes = fill.__dict__
        attributes.update(row)
        attributes["id"] = pk
        state = ModelState()
        state.adding = False
        state.db = "default"
        attributes["_state"] = state
        fills.append(fill)
    return fills


def _item_key(item: Item) -> str:
    posted = item.posted
    if "id" in posted and posted["id"] is not None:
        return str(posted["id"])[:200]
    spec = store.KEYED.get(item.type.name)
    if spec is None:
        return ""
    parts = []
    for name in spec.key:
        value = item.values.get(name)
        if name == "bot_id":
            value = item.bot_key
        parts.append(value.isoformat() if isinstance(value, datetime) else str(value or ""))
    return "@".join(parts)[:200]


def _send_journal(items: list[Item], *, token: ApiToken | None, channel: str,
                  received_at: datetime) -> Callable[[], list[tuple]]:
    """One journal row per item, in posted order, in one statement (built by column: the
    token, channel and receive time are the request's, the rest is per item); returns the
    reader of their ids."""
    from trades.models import Event

    columns = {
        "account_id": [item.account.pk for item in items],
        "bot_id": [item.bot_id for item in items],
        "type": [item.type.name for item in items],
        "item_key": [_item_key(item) for item in items],
        "outcome": [item.outcome or "" for item in items],
        # Each raw item as the text stored, written (and checked storable) by the validator: two
        # items equal as dicts ({"a": 1.0}, {"a": 1.00}) are still journaled as each was posted.
        "raw": [item.raw_text for item in items],
    }
    constants = {"token_id": token.pk if token is not None else None, "channel": channel[:32],
                 "received_at": received_at}
    return send_columns(Event, columns, constants, on_conflict=False)


def _result(items: list[Item]) -> IngestResult:
    result = IngestResult()
    for item in items:
        has_id = "id" in item.type.by_name and item.posted.get("id") is not None
        result.results.append({"index": item.index, "status": item.outcome,
                               "id": item.posted["id"] if has_id else item.extra.get("pk")})
        result.counts[item.outcome] += 1
    return result
