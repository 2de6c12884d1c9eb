"""record(): posted items -> ledger rows, journal and books, in one transaction (SPEC 4.1).

The one service behind every door that writes what bots did: the write API, the
native-format endpoints (Bybit, CCXT), the importers and the sources all call it.

A request, top to bottom (`_write`):

1. check the items part by part (`validate`); while no error is found, each part's
   keyed items go to the database at once (`keyed.KeyedWriter`), one statement per
   account and type;
2. once every item is checked — every error at once, and then nothing is kept —
   settle the keyed outcomes (created, duplicate, or a conflict);
3. per account, in the order posted: orders, trade updates and closes, voids (`lifecycle`);
4. lock the books' states of the new fills, send the journal (`journal`), and compute
   the books (`trades.books`) while the database writes the journal.

Any problem rolls the whole request back. A race the request cannot settle in place (a
deadlock, a serialization failure, an order created concurrently) runs it again, a few
times at most; past that it is a 503 (send it again), never a 500. Every request takes its
locks in one order (`keyed.lock_order`, then orders, trades and position states by key),
so races of the same items end in a wait, seldom in a deadlock.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import DataError, IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from accounts.models import Account, ApiToken
from core import metrics
from core.errors import TradebookError
from core.sql.faults import BUSY_MESSAGES, DEADLOCK, busy_reason, is_collision, sqlstate
from core.sql.statements import pipelined
from trades import books
from trades.ingest import bots, journal, lifecycle
from trades.ingest.formats.legacy import translate as translate_legacy
from trades.ingest.items import CREATED, DUPLICATE, UPDATED, Item, Problems
from trades.ingest.keyed import KEYED, KEYED_ORDER, KeyedWriter, lock_order
from trades.ingest.schema import ITEM_TYPES
from trades.ingest.validate import check_items, unknown_field_warnings

# A request that loses a race it cannot settle in place (a deadlock, a serialization failure, an
# order created concurrently) runs again, this many times in all; then it is a 503.
MAX_ATTEMPTS = 4
NUMERIC_OUT_OF_RANGE = "22003"  # PostgreSQL's numeric field overflow; core.fields.NumericOverflow on SQLite

# A request is checked and sent in parts of this many items: on PostgreSQL the server
# inserts one part while the next is checked (pipeline mode), so a batch costs about the
# larger of its Python and its SQL, not their sum.
PART = 125


@dataclass
class IngestResult:
    results: list[dict] = field(default_factory=list)  # [{"index", "status", "id"}], in posted order
    counts: dict[str, int] = field(default_factory=lambda: {CREATED: 0, DUPLICATE: 0, UPDATED: 0})
    # [{"index", "field", "message"}]: fields the items' types do not know, kept in meta (SPEC 4.1 rule 3)
    warnings: list[dict] = field(default_factory=list)

    @property
    def created(self) -> bool:
        return self.counts[CREATED] > 0

    def as_dict(self) -> dict:
        body = {"results": self.results, "counts": self.counts}
        if self.warnings:
            body["warnings"] = self.warnings
        return body


@dataclass(frozen=True)
class _Request:
    """What a request posted and on whose behalf."""

    items: Sequence[Any]
    accounts: Sequence[Account]
    item_type: str | None
    default_account: Account | None
    token: ApiToken | None
    channel: str

    @property
    def translate(self) -> Callable[[dict], dict] | None:
        """Mixed items (no fixed type) may be the older JSONL lines: translated first."""
        return translate_legacy if self.item_type is None else None


def record(
    *, accounts: Sequence[Account], items: Sequence[Any], token: ApiToken | None = None, channel: str = "api",
    item_type: str | None = None, default_account: Account | None = None,
) -> IngestResult:
    """Write `items` for the caller whose scope is `accounts`; raise TradebookError (400/404/409,
    503 when concurrent writes keep colliding) or the database's error when it is away.

    `item_type` is the endpoint's type; None means each item names its `type` (older
    JSONL lines are translated first). `default_account` (e.g. `?account=`) is used for
    items that name none.
    """
    request = _Request(items=items, accounts=accounts, item_type=item_type, default_account=default_account,
                       token=token, channel=channel)
    try:
        result = _record(request)
    except Exception as exc:
        status = exc.status if isinstance(exc, TradebookError) else 503 if busy_reason(exc) else None
        if status is not None:
            metrics.count_items(_type_names(request), [str(status)] * len(request.items))
        raise
    metrics.count_items(_type_names(request), [r["status"] for r in result.results])
    return result


def _type_names(request: _Request) -> list[str]:
    """Each posted item's type, for the metrics: the endpoint's, or the one the item names (a
    name no type has, e.g. an older JSONL line's, is "other": a label's values stay few)."""
    if request.item_type is not None:
        return [request.item_type] * len(request.items)
    names = [raw.get("type") if isinstance(raw, dict) else None for raw in request.items]
    return [name if isinstance(name, str) and name in ITEM_TYPES else "other" for name in names]


def _record(request: _Request) -> IngestResult:
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
            bots.forget_bots()
            raise
        except DataError as exc:
            # The validator lets through only values the database takes, so this is one the books
            # computed from the items (a position, a PnL) that does not fit numeric(38,18): the
            # items are what is wrong, the caller's 400. Any other refusal is said as it is.
            if NUMERIC_OUT_OF_RANGE in (getattr(exc, "sqlstate", None), getattr(exc.__cause__, "sqlstate", None)):
                raise TradebookError(f"a value computed from these items does not fit numeric(38,18): {exc}")
            raise TradebookError(f"the database refused a value of these items: {exc}")
        except (lifecycle.RetryRequest, OperationalError) as exc:
            race = isinstance(exc, lifecycle.RetryRequest)
            if outer or not (race or is_collision(exc)):
                raise  # inside a caller's transaction its caller decides; anything else is not a race
            if attempt >= MAX_ATTEMPTS:
                # Not the caller's fault and not a conflict (a 409 would tell a client to set the
                # items aside): the same request later will find the race over.
                raise TradebookError(BUSY_MESSAGES["contention"], status=503)
            metrics.DATABASE_RETRIES.labels(
                reason="race" if race else "deadlock" if sqlstate(exc) == DEADLOCK else "serialization").inc()
            # The next attempt checks the items afresh: nothing of this one is kept.


def _default_source(channel: str) -> str:
    if channel.startswith("ingest."):
        return "exchange"
    if channel.startswith("import") or channel.startswith("source"):
        return "import"
    return "bot"


def _write(request: _Request) -> IngestResult:
    """One request, inside its transaction (see the module's docstring)."""
    received_at = timezone.now()
    problems = Problems()
    items, writers = _check_and_send(request, received_at=received_at, problems=problems)
    by_account: dict[int, list[Item]] = defaultdict(list)
    for item in items:
        by_account[item.account.pk].append(item)
    voided: dict[int, set[str]] = {}
    for account_items in by_account.values():
        account = account_items[0].account
        orders = [item for item in account_items if item.type.name == "order"]
        if orders:
            lifecycle.store_orders(account=account, items=orders, received_at=received_at, problems=problems)
        closes: list[Item] = []  # a run of closes is applied at once (an importer sends thousands)
        changes = [item for item in account_items if item.type.name in ("trade.update", "trade.close")]
        if changes:
            lifecycle.lock_trades(account=account, items=changes)
        for item in account_items:  # a trade's life in the order posted: open (keyed, above), update, close
            if item.type.name == "trade.close":
                closes.append(item)
                continue
            if closes and item.type.name == "trade.update":
                lifecycle.close_trades(account=account, items=closes, received_at=received_at, problems=problems)
                closes = []
            if item.type.name == "trade.update":
                lifecycle.update_trade(account=account, item=item, received_at=received_at, problems=problems)
        if closes:
            lifecycle.close_trades(account=account, items=closes, received_at=received_at, problems=problems)
        logs = [item for item in account_items if item.type.name == "log"]
        if logs:
            _settle_logs(account.pk, logs)
        voids = [item for item in account_items if item.type.name == "fill.void"]
        if voids:
            voided[account.pk] = lifecycle.void_fills(account=account, items=voids, received_at=received_at,
                                                      problems=problems)
    problems.raise_any()
    # The books' states are locked and read first; then the journal is sent, and on
    # PostgreSQL the server inserts it while Python computes the books (pipeline mode; not
    # when a symbol is rebuilt from its fills: that reads them by COPY, which a pipeline refuses).
    pending = [books.lock_for_fills(account=account, fills=fills, rebuild=rebuild)
               for account, fills, rebuild in _bookings(writers)]
    rebuilds = any(voided.values()) or any(booking.recompute for booking in pending)
    with pipelined(len(items) > PART and not rebuilds):
        journaled = journal.send_journal(items, token=request.token, channel=request.channel,
                                         received_at=received_at)
        for booking in pending:
            booking.book()
        for account_id, symbols in voided.items():
            if symbols:
                books.recompute_symbols(account=by_account[account_id][0].account, symbols=symbols)
        for item, (pk,) in zip(items, journaled(), strict=True):
            if item.type.name == "log":
                item.pk = pk
    return _result(items)


def _settle_logs(account_id: int, logs: list[Item]) -> None:
    """A log line is created, or a duplicate when its id was journaled before (or earlier in
    this request)."""
    seen = journal.log_ids_seen(account_id, {item.values["external_id"] for item in logs
                                             if item.values.get("external_id")})
    for item in logs:
        line_id = item.values.get("external_id")
        item.outcome = DUPLICATE if line_id in seen else CREATED
        if line_id:
            seen.add(line_id)


def _bookings(writers: list[KeyedWriter]) -> list[tuple[Account, list, set[str]]]:
    """Per account: the fills this request created, and the symbols whose books are rebuilt
    because a trade opened now has fills booked before it (their strategy was not known then)."""
    fills: dict[int, list] = defaultdict(list)
    opened: dict[int, dict[str, str]] = defaultdict(dict)
    accounts: dict[int, Account] = {}
    for writer in writers:
        accounts[writer.account.pk] = writer.account
        for _item, row in writer.created:
            if writer.type_name == "fill":
                fills[writer.account.pk].append(books.BookedFill.from_row(row))
            elif writer.type_name == "trade.open" and row["strategy"]:
                opened[writer.account.pk][row["external_id"]] = row["strategy"]
    out = []
    for account_id, account in accounts.items():
        new = fills.get(account_id, [])
        rebuild = books.symbols_booked_before(account, trade_ids=opened.get(account_id, {}),
                                              excluding={f.pk for f in new})
        if new or rebuild:
            out.append((account, new, rebuild))
    return out


def _check_and_send(request: _Request, *, received_at: datetime,
                    problems: Problems) -> tuple[list[Item], list[KeyedWriter]]:
    """Check the items part by part, sending each part's keyed items while no error is found;
    raise every error at once; settle the keyed outcomes. The checked items, in posted order,
    and the writers of the keyed ones."""
    items: list[Item] = []
    source = _default_source(request.channel)
    writers: dict[tuple[int, str], KeyedWriter] = {}
    posted = request.items
    # Checked and sent in the one lock order of every request (see keyed.lock_order), each item
    # keeping its posted index; put back in posted order below.
    order = lock_order(posted, request.item_type) if len(posted) > 1 else None
    with pipelined(len(posted) > PART):
        for start in range(0, len(posted), PART):
            indexes = None if order is None else order[start:start + PART]
            part = check_items(posted[start:start + PART] if indexes is None else [posted[i] for i in indexes],
                               item_type=request.item_type, accounts=request.accounts,
                               default_account=request.default_account, translate=request.translate,
                               start=start, problems=problems, source=source, indexes=indexes)
            items.extend(part)
            if problems:
                continue  # the rest is checked, not sent: every error at once, nothing written
            bots.register_bots(part)
            keyed: dict[tuple[int, str], list[Item]] = defaultdict(list)
            for item in part:
                if item.type.name in KEYED:
                    keyed[(item.account.pk, item.type.name)].append(item)
            # One lock order for every request: by type (KEYED_ORDER), then account, then key (the
            # items' order). Keys are per account, so each account's rows go in (type, key) order
            # whichever part they fall in.
            for (account_id, type_name), group in sorted(keyed.items(),
                                                         key=lambda e: (KEYED_ORDER.index(e[0][1]), e[0][0])):
                writer = writers.get((account_id, type_name))
                if writer is None:
                    writer = writers[(account_id, type_name)] = KeyedWriter(
                        account=group[0].account, type_name=type_name, received_at=received_at, problems=problems)
                writer.add(group)
    problems.raise_any()
    for writer in writers.values():
        writer.finish()
    if order is not None:
        items.sort(key=lambda item: item.index)  # results, lives and the journal go in posted order
    return items, list(writers.values())


def _result(items: list[Item]) -> IngestResult:
    result = IngestResult()
    for item in items:
        has_id = "id" in item.type.by_name and item.posted.get("id") is not None
        result.results.append({"index": item.index, "status": item.outcome,
                               "id": item.posted["id"] if has_id else item.pk})
        result.counts[item.outcome] += 1
    result.warnings = unknown_field_warnings(items)
    return result
