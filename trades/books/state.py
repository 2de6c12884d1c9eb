"""PositionState maintenance: incremental `apply_fills` and exact `recompute_symbols`.

Both run inside the caller's transaction (ingest's, or a void's) and open none of
their own beyond what Django's atomic blocks nest. The states of the touched
symbols are locked (SELECT … FOR UPDATE on PostgreSQL) so two ingests of the same
symbol serialize on the state row instead of losing an update.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account
from accounts.values import decimal_str
from trades.books.cost import Book
from trades.models import DailyPnl, Fill, PositionState

# The order of Book.apply_rows' tuple; `symbol` is prepended where rows of many symbols stream.
FILL_COLUMNS = ("pk", "side", "price", "quantity", "fee", "fee_currency", "other_fees", "executed_at",
                "reported_pnl")
STATE_FIELDS = ["quantity", "average_price", "realized_pnl", "fees", "unconverted_fees", "lots", "fill_count",
                "last_executed_at", "last_fill_pk", "last_price", "updated_at"]


def new_book(account: Account) -> Book:
    return Book(fifo=account.cost_basis == Account.CostBasis.FIFO, base=account.base_currency.upper())


def book_from_state(account: Account, state: PositionState) -> Book:
    book = new_book(account)
    book.quantity = state.quantity
    book.average_price = state.average_price
    book.realized_pnl = state.realized_pnl
    book.fees = state.fees
    book.unconverted_fees = {c: _dec(v) for c, v in (state.unconverted_fees or {}).items()}
    book.fill_count = state.fill_count
    book.last_executed_at = state.last_executed_at
    book.last_fill_pk = state.last_fill_pk
    book.last_price = state.last_price
    book.load_lots_json(state.lots)
    return book


def book_to_state(book: Book, state: PositionState) -> PositionState:
    state.quantity = book.quantity
    state.average_price = book.average_price
    state.realized_pnl = book.realized_pnl
    state.fees = book.fees
    state.unconverted_fees = {c: decimal_str(v) for c, v in sorted(book.unconverted_fees.items())}
    state.lots = book.lots_json()
    state.fill_count = book.fill_count
    state.last_executed_at = book.last_executed_at
    state.last_fill_pk = book.last_fill_pk
    state.last_price = book.last_price
    return state


def _dec(value) -> Decimal:
    return Decimal(str(value))


def _locked_states(account: Account, symbols: list[str]) -> dict[str, PositionState]:
    """The states of these symbols, created when missing, locked for this transaction."""
    if not symbols:
        return {}
    states = _select_locked(account, symbols)
    missing = [s for s in symbols if s not in states]
    if missing:
        PositionState.objects.bulk_create(
            [PositionState(account=account, symbol=s) for s in missing], ignore_conflicts=True
        )
        states.update(_select_locked(account, missing))
    return states


_state_loader = None


def _select_locked(account: Account, symbols: list[str]) -> dict[str, PositionState]:
    """SELECT … ORDER BY symbol FOR UPDATE (a stable lock order), written once: on every
    ingest, building this query with the ORM cost more than running it."""
    global _state_loader
    if _state_loader is None:
        from trades.ingest.sql import RowLoader

        _state_loader = RowLoader(PositionState)
    loader = _state_loader
    quote = connection.ops.quote_name
    sql = (f"SELECT {loader.columns} FROM {quote(PositionState._meta.db_table)} WHERE {quote('account_id')} = %s "
           f"AND {quote('symbol')} IN ({', '.join(['%s'] * len(symbols))}) ORDER BY {quote('symbol')}")
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    from trades.ingest.sql import run_prepared

    rows = run_prepared(sql, [account.pk, *symbols])
    return {state.symbol: state for state in map(loader.load, rows)}


def _fill_key(fill: Fill):
    return (fill.executed_at, fill.pk or 0)


def _applied_key(state: PositionState):
    """The (executed_at, pk) of the newest fill applied to this state, None before any."""
    return None if state.last_executed_at is None else (state.last_executed_at, state.last_fill_pk or 0)


def apply_fills(*, account: Account, fills: Iterable[Fill]) -> None:
    """Book fills just written (any order, any symbols) into PositionState.

    Fast path: the new fills of a symbol are all newer than the newest applied one
    (by (executed_at, pk)): they are applied in memory on the stored state. Anything
    else — an older fill, a fill seen before, a void, a row without pk — recomputes
    that one symbol from its fills, so the result is exact whatever the order or
    the number of calls. Queries: one locked read, one bulk update (plus creates).
    """
    # No savepoint: the caller's transaction (ingest's) rolls back as a whole on any error.
    with transaction.atomic(savepoint=False):
        lock_for_fills(account=account, fills=fills).book()


class PendingFills:
    """`apply_fills` in two steps, for a caller that sends statements of its own in between:
    `lock_for_fills` reads and locks the states (waits for the database); `book()` computes
    and writes them. In between, on PostgreSQL's pipeline, the server can work on what the
    caller sends (ingest's journal) while Python computes the books."""

    def __init__(self, account: Account, by_symbol: dict[str, list[Fill]], states: dict[str, PositionState],
                 recompute: list[str]):
        self.account = account
        self.by_symbol = by_symbol
        self.states = states
        self.recompute = recompute  # symbols rebuilt from their fills (by COPY on PostgreSQL)

    def book(self) -> None:
        account = self.account
        changed: list[PositionState] = []
        for symbol, new in self.by_symbol.items():
            if symbol in self.recompute:
                continue
            state = self.states[symbol]
            book = book_from_state(account, state)
            book.apply_rows(
                (f.pk, f.side, f.price, f.quantity, f.fee, f.fee_currency, f.other_fees, f.executed_at,
                 f.reported_pnl)
                for f in new
            )
            changed.append(book_to_state(book, state))
        if changed:
            now = timezone.now()  # bulk_update skips auto_now
            for state in changed:
                state.updated_at = now
            _update_states(changed)
        if self.recompute:
            _recompute(account, self.recompute)
        # A fill of a day already rolled up makes that day and the later ones stale: drop them;
        # the next report (or the nightly roll-up) replays them. Real-time fills are today's: no-op.
        if self.by_symbol:
            first_day = min(new[0].executed_at for new in self.by_symbol.values()).astimezone(UTC).date()
            if first_day < timezone.now().astimezone(UTC).date():
                invalidate_days(account=account, since=first_day)


def lock_for_fills(*, account: Account, fills: Iterable[Fill]) -> PendingFills:
    """The first step of `apply_fills`: the touched states, locked, and which symbols must be
    recomputed rather than applied on their state. Inside the caller's transaction."""
    by_symbol: dict[str, list[Fill]] = {}
    for fill in fills:
        by_symbol.setdefault(fill.symbol, []).append(fill)
    by_symbol = {symbol: sorted(by_symbol[symbol], key=_fill_key) for symbol in sorted(by_symbol)}
    states = _locked_states(account, list(by_symbol))
    recompute = []
    for symbol, new in by_symbol.items():
        state = states[symbol]
        last = _applied_key(state)
        if any(f.pk is None or f.voided_at is not None for f in new) or (last is not None and _fill_key(new[0]) <= last):
            recompute.append(symbol)
    return PendingFills(account, by_symbol, states, recompute)


_STATE_COLUMNS = [PositionState._meta.get_field(name) for name in STATE_FIELDS]


def _update_states(states: list[PositionState]) -> None:
    """Write the books' columns of these locked states: one plain UPDATE per row, sent as one
    batch (bulk_update's CASE WHEN costs more to build than the rows cost to write). Values go
    through each field's own prep, so the stored result is what bulk_update would store."""
    quote = connection.ops.quote_name
    sets = ", ".join(f"{quote(f.column)} = %s" for f in _STATE_COLUMNS)
    sql = f"UPDATE {quote(PositionState._meta.db_table)} SET {sets} WHERE {quote('id')} = %s"
    rows = [[f.get_db_prep_save(getattr(state, f.attname), connection) for f in _STATE_COLUMNS] + [state.pk]
            for state in states]
    if len(rows) == 1:
        from trades.ingest.sql import run_prepared

        run_prepared(sql, rows[0], fetch=False)
        return
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def invalidate_days(*, account: Account, since: date | None = None) -> None:
    """Forget the rolled-up days from `since` (all when None); they are recomputed on demand."""
    # Plain SQL: a DailyPnl row has no dependents, and this runs on every ingest of an older fill.
    quote = connection.ops.quote_name
    sql = f"DELETE FROM {quote(DailyPnl._meta.db_table)} WHERE {quote('account_id')} = %s"
    params: list = [account.pk]
    if since is not None:
        sql += f" AND {quote('day')} >= %s"
        params.append(connection.ops.adapt_datefield_value(since))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def copy_fill_rows(account: Account, symbols: list[str] | None = None, *, by_time: bool = False,
                   before: datetime | None = None, attribution: bool = False) -> Iterator[tuple]:
    """PostgreSQL: non-void fill rows by COPY … TO STDOUT (text), parsed here — (symbol, id,
    side, price, quantity, fee, fee_currency, other_fees, executed_at, reported_pnl), ordered
    by (symbol, executed_at, id), or by (executed_at, id) with `by_time`; `attribution`
    appends (bot_id, trade_id).

    The recompute's speed is the fetch's: COPY streams while we parse, and skips the
    per-value converters of a cursor (Django's timestamptz loader alone costs more
    than the books). Ids and times stay text (ISO, UTC) for the caller to convert
    only where needed.
    """
    from psycopg import sql

    where = sql.SQL("account_id = {} AND voided_at IS NULL").format(sql.Literal(account.pk))
    if symbols is not None:
        where = sql.SQL("{} AND symbol = ANY({})").format(where, sql.Literal(list(symbols)))
    if before is not None:
        where = sql.SQL("{} AND executed_at < {}").format(where, sql.Literal(before))
    order = sql.SQL("executed_at, id" if by_time else "symbol, executed_at, id")
    extra = sql.SQL(", bot_id, trade_id" if attribution else "")
    query = sql.SQL(
        "COPY (SELECT symbol, id, side, price, quantity, fee, fee_currency, NULLIF(other_fees, '[]'::jsonb), "
        "executed_at, reported_pnl{} FROM trades_fill WHERE {} ORDER BY {}) TO STDOUT"
    ).format(extra, where, order)
    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(query) as copy:
        rest = b""
        for block in copy:
            lines = (rest + bytes(block)).split(b"\n")
            rest = lines.pop()
            for line in lines:
                fields = (
                    [_field(f) for f in line.decode().split("\t")] if line.count(b"\\") > line.count(b"\\N")
                    else line.decode().split("\t")
                )
                symbol, pk, side, price, quantity, fee, fee_currency, other_fees, at, reported = fields[:10]
                row = (symbol, pk, side, Decimal(price), Decimal(quantity), Decimal(fee), fee_currency,
                       None if other_fees == NULL else json.loads(other_fees), at,
                       None if reported == NULL else Decimal(reported))
                if attribution:
                    bot_id, trade_id = fields[10:]
                    row += (None if bot_id == NULL else int(bot_id), trade_id)
                yield row


NULL = "\\N"
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def _field(text: str) -> str | None:
    """Undo COPY's text escaping (only met when a value holds a backslash, tab or newline)."""
    if text == NULL:
        return NULL
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(_ESCAPES.get(text[i + 1], text[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _finish(book: Book) -> Book:
    """Turn the text id/time the COPY path leaves on a book into their types."""
    if isinstance(book.last_executed_at, str):
        book.last_executed_at = datetime.fromisoformat(book.last_executed_at)
    if isinstance(book.last_fill_pk, str):
        book.last_fill_pk = int(book.last_fill_pk)
    return book


def stream_books(account: Account, symbols: Iterable[str] | None = None, *,
                 chunk_size: int = 20000) -> Iterator[tuple[str, Book]]:
    """(symbol, Book) computed from the non-void fills alone, one symbol after another.

    Streams in the order of the index (account, symbol, executed_at, id) — no model
    instances, no sort: COPY on PostgreSQL, values_list in chunks elsewhere.
    """
    symbols = None if symbols is None else list(symbols)
    if connection.vendor == "postgresql":
        rows = copy_fill_rows(account, symbols)
    else:
        qs = Fill.objects.filter(account=account, voided_at__isnull=True)
        if symbols is not None:
            qs = qs.filter(symbol__in=symbols)
        rows = qs.order_by("symbol", "executed_at", "id").values_list("symbol", *FILL_COLUMNS).iterator(
            chunk_size=chunk_size
        )
    current: str | None = None
    batch: list[tuple] = []
    book: Book | None = None
    for row in rows:
        symbol = row[0]
        if symbol != current:
            if book is not None:
                book.apply_rows(batch)
                yield current, _finish(book)
            current, book, batch = symbol, new_book(account), []
        batch.append(row[1:])
        if len(batch) >= chunk_size:
            book.apply_rows(batch)
            batch = []
    if book is not None:
        book.apply_rows(batch)
        yield current, _finish(book)


def recompute_symbols(*, account: Account, symbols: Iterable[str] | None) -> None:
    """Rebuild PositionState of these symbols (None: every symbol) from their non-void fills (exact).

    Used after a void (and by repairs): which day the voided fill belonged to is not
    known here, so every rolled-up day of the account is recomputed on demand.
    """
    with transaction.atomic():
        _recompute(account, symbols)
        invalidate_days(account=account)


def _recompute(account: Account, symbols: Iterable[str] | None) -> None:
    with transaction.atomic():
        if symbols is None:
            existing = list(PositionState.objects.filter(account=account).values_list("symbol", flat=True))
            _locked_states(account, existing)
            books = dict(stream_books(account))
            symbols = sorted(set(existing) | set(books))
        else:
            symbols = sorted(set(symbols))
            if not symbols:
                return
            _locked_states(account, symbols)
            books = dict(stream_books(account, symbols))
        rows = []
        for symbol in symbols:
            book = books.get(symbol) or new_book(account)
            rows.append(book_to_state(book, PositionState(account=account, symbol=symbol)))
        PositionState.objects.bulk_create(
            rows, batch_size=1000, update_conflicts=True, unique_fields=["account", "symbol"],
            update_fields=STATE_FIELDS,
        )


def recompute_account(*, account: Account) -> int:
    """Rebuild every PositionState of the account in one pass over its fills; returns the
    number of symbols."""
    _recompute(account, None)
    return PositionState.objects.filter(account=account).count()
