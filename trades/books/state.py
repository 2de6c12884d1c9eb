"""PositionState maintenance: incremental `apply_fills` and exact `recompute_symbols`.

Both run inside the caller's transaction (ingest's, or a void's) and open none of
their own beyond what Django's atomic blocks nest. The states of the touched
symbols are locked (SELECT … FOR UPDATE on PostgreSQL) so two ingests of the same
symbol serialize on the state row instead of losing an update.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account
from core.amounts import decimal_str
from core.sql.reads import RowLoader
from core.sql.statements import run_prepared
from trades.books.attribution import strategies_of
from trades.books.cost import Book
from trades.books.fills import BookedFill, fill_rows
from trades.models import DailyPnl, Fill, PositionState

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
        _state_loader = RowLoader(PositionState)
    loader = _state_loader
    quote = connection.ops.quote_name
    sql = (f"SELECT {loader.columns} FROM {quote(PositionState._meta.db_table)} WHERE {quote('account_id')} = %s "
           f"AND {quote('symbol')} IN ({', '.join(['%s'] * len(symbols))}) ORDER BY {quote('symbol')}")
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    rows = run_prepared(sql, [account.pk, *symbols])
    return {state.symbol: state for state in map(loader.load, rows)}


def _fill_key(fill: BookedFill):
    return (fill.executed_at, fill.pk)


def _applied_key(state: PositionState):
    """The (executed_at, pk) of the newest fill applied to this state, None before any."""
    return None if state.last_executed_at is None else (state.last_executed_at, state.last_fill_pk or 0)


def apply_fills(*, account: Account, fills: Iterable[Fill]) -> None:
    """Book stored Fill rows (any order, any symbols) into PositionState.

    Fast path: the new fills of a symbol are all newer than the newest applied one
    (by (executed_at, pk)): they are applied in memory on the stored state. Anything
    else — an older fill, a fill seen before, a void — recomputes that one symbol from
    its fills, so the result is exact whatever the order or the number of calls.
    Queries: one locked read, one bulk update (plus creates).
    """
    fills = list(fills)
    booked = [BookedFill.of(f) for f in fills if f.voided_at is None]
    voided = {f.symbol for f in fills if f.voided_at is not None}
    # No savepoint: the caller's transaction (ingest's) rolls back as a whole on any error.
    with transaction.atomic(savepoint=False):
        lock_for_fills(account=account, fills=booked, rebuild=voided).book()


class PendingFills:
    """`apply_fills` in two steps, for a caller that sends statements of its own in between:
    `lock_for_fills` reads and locks the states (waits for the database); `book()` computes
    and writes them. In between, on PostgreSQL's pipeline, the server can work on what the
    caller sends (ingest's journal) while Python computes the books."""

    def __init__(self, account: Account, by_symbol: dict[str, list[BookedFill]], states: dict[str, PositionState],
                 recompute: list[str]):
        self.account = account
        self.by_symbol = by_symbol
        self.states = states
        self.recompute = recompute  # symbols rebuilt from their fills (by COPY on PostgreSQL)

    def book(self) -> None:
        account = self.account
        changed: list[PositionState] = []
        applied = [f for symbol, new in self.by_symbol.items() if symbol not in self.recompute for f in new]
        strategies = strategies_of(account, {f.trade_id for f in applied})
        for symbol, new in self.by_symbol.items():
            if symbol in self.recompute:
                continue
            state = self.states[symbol]
            book = book_from_state(account, state)
            book.attribute(list(book.engine_rows(f.as_row() for f in new)),
                           [(f.bot_id or 0, strategies.get(f.trade_id, "")) for f in new])
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
        times = [new[0].executed_at for new in self.by_symbol.values() if new]
        if times:
            first_day = min(times).astimezone(UTC).date()
            if first_day < timezone.now().astimezone(UTC).date():
                invalidate_days(account=account, since=first_day)


def lock_for_fills(*, account: Account, fills: Iterable[BookedFill], rebuild: Iterable[str] = ()) -> PendingFills:
    """The first step of `apply_fills`: the touched states, locked, and which symbols must be
    recomputed rather than applied on their state (`rebuild` names some more). Inside the
    caller's transaction."""
    by_symbol: dict[str, list[BookedFill]] = {symbol: [] for symbol in rebuild}
    for fill in fills:
        by_symbol.setdefault(fill.symbol, []).append(fill)
    by_symbol = {symbol: sorted(by_symbol[symbol], key=_fill_key) for symbol in sorted(by_symbol)}
    states = _locked_states(account, list(by_symbol))
    recompute = []
    for symbol, new in by_symbol.items():
        last = _applied_key(states[symbol])
        if not new or (last is not None and _fill_key(new[0]) <= last):
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


def _finish(book: Book) -> Book:
    """Turn the text id/time the COPY path leaves on a book into their types."""
    if isinstance(book.last_executed_at, str):
        book.last_executed_at = datetime.fromisoformat(book.last_executed_at)
    if isinstance(book.last_fill_pk, str):
        book.last_fill_pk = int(book.last_fill_pk)
    return book


def stream_books(account: Account, symbols: Iterable[str] | None = None, *,
                 chunk_size: int = 1000) -> Iterator[tuple[str, Book]]:
    """(symbol, Book) computed from the non-void fills alone, one symbol after another, in the
    order of the index (account, symbol, executed_at, id) — no model instances, no sort: COPY on
    PostgreSQL, a plain query in chunks elsewhere. Each book carries its attribution.

    Booked `chunk_size` rows at a time: few enough that they die young — a batch of thousands
    outlives Python's young garbage collections and makes the full ones walk it, which cost a
    third of the recompute."""
    symbols = None if symbols is None else list(symbols)
    current: str | None = None
    batch: list[tuple] = []
    keys: list[tuple] = []
    book: Book | None = None

    def flush() -> None:
        book.attribute(batch, keys)
        batch.clear()
        keys.clear()

    for symbol, key, row in fill_rows(account, symbols, attribution=True):
        if symbol != current:
            if book is not None:
                flush()
                yield current, _finish(book)
            current, book = symbol, new_book(account)
        batch.append(row)
        keys.append(key)
        if len(batch) >= chunk_size:
            flush()
    if book is not None:
        flush()
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
            computed = dict(stream_books(account))
            symbols = sorted(set(existing) | set(computed))
        else:
            symbols = sorted(set(symbols))
            if not symbols:
                return
            _locked_states(account, symbols)
            computed = dict(stream_books(account, symbols))
        rows = []
        for symbol in symbols:
            book = computed.get(symbol) or new_book(account)
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
