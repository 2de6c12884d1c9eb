"""Marks: the price an open position is valued at (SPEC 5).

The newest, by its own time, of: a posted Mark (`mark`), a reported position
snapshot's mark_price (`position`), the last fill's price (`fill`). On a tie the
more deliberate source wins (mark, then position, then fill).

Position marks come from reported snapshots only: a computed snapshot's mark is a
price we chose ourselves and would only echo an older mark back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection

from accounts.models import Account
from core.sql.reads import RowLoader, from_db
from core.sql.statements import run_prepared
from snapshots.models import Mark, PositionSnapshot, SnapshotSource
from trades.models import PositionState

SOURCE_RANK = {"mark": 0, "position": 1, "fill": 2}


@dataclass(frozen=True)
class Price:
    price: Decimal
    source: str  # mark / position / fill
    at: datetime | None


# The newest mark and reported position snapshot of each state's symbol: correlated
# subqueries, one index probe each (mark_account_symbol_time, possnap_account_symbol_time),
# cheap however long the history is. Written once, as SQL: the snapshot round runs it for
# every account each interval, and the ORM's build of it cost more than its run.
_ANNOTATIONS = (
    # (attribute, model, column, condition beyond the account and symbol)
    ("mark_px", Mark, "price", ""),
    ("mark_ts", Mark, "ts", ""),
    ("pos_px", PositionSnapshot, "mark_price", "AND x.source = %s AND x.mark_price IS NOT NULL"),
    ("pos_ts", PositionSnapshot, "exchange_ts", "AND x.source = %s AND x.mark_price IS NOT NULL"),
    ("rep_size", PositionSnapshot, "size", "AND x.source = %s"),
    ("rep_side", PositionSnapshot, "side", "AND x.source = %s"),
    ("rep_ts", PositionSnapshot, "exchange_ts", "AND x.source = %s"),
)
_query = None


def _states_query() -> tuple[str, RowLoader, list]:
    global _query
    if _query is None:
        quote = connection.ops.quote_name
        loader = RowLoader(PositionState, "s")
        selects, fields = [], []
        for _name, model, column, where in _ANNOTATIONS:
            time = "ts" if model is Mark else "exchange_ts"
            selects.append(f"(SELECT x.{quote(column)} FROM {quote(model._meta.db_table)} x WHERE "
                           f"x.{quote('account_id')} = s.{quote('account_id')} AND x.{quote('symbol')} = "
                           f"s.{quote('symbol')} {where} ORDER BY x.{quote(time)} DESC, x.{quote('id')} DESC LIMIT 1)")
            fields.append(model._meta.get_field(column))
        sql = (f"SELECT {loader.columns}, {', '.join(selects)} FROM {quote(PositionState._meta.db_table)} s "
               f"WHERE s.{quote('account_id')} = %s ORDER BY s.{quote('symbol')}")
        _query = (sql, loader, fields)
    return _query


def states_with_prices(account: Account) -> list[PositionState]:
    """The account's states, each with its newest mark (`mark_px`, `mark_ts`), its newest
    reported position snapshot's mark (`pos_px`, `pos_ts`), and that snapshot's size, side and
    time for reconciliation (`rep_size`, `rep_side`, `rep_ts`)."""
    sql, loader, fields = _states_query()
    params = [SnapshotSource.REPORTED.value for *_rest, where in _ANNOTATIONS if where] + [account.pk]
    width = len(loader.fields)
    states = []
    for row in run_prepared(sql, params):
        state = loader.load(row[:width])
        for (name, *_rest), field, value in zip(_ANNOTATIONS, fields, row[width:], strict=True):
            setattr(state, name, from_db(field, value))
        states.append(state)
    return states


def pick(candidates: list[Price | None]) -> Price | None:
    """The newest candidate; ties go to the better source."""
    best = None
    for c in candidates:
        if c is None or c.price is None:
            continue
        if best is None:
            best = c
            continue
        c_at, b_at = c.at, best.at
        if b_at is None or (c_at is not None and c_at > b_at) or (
            c_at == b_at and SOURCE_RANK[c.source] < SOURCE_RANK[best.source]
        ):
            best = c
    return best


def price_of_state(state) -> Price | None:
    """The mark of an annotated state (see states_with_prices)."""
    return pick([
        Price(state.mark_px, "mark", state.mark_ts) if state.mark_px is not None else None,
        Price(state.pos_px, "position", state.pos_ts) if state.pos_px is not None else None,
        Price(state.last_price, "fill", state.last_executed_at) if state.last_price is not None else None,
    ])


def newest_price(account: Account, symbols: Sequence[str]) -> Price | None:
    """The newest mark of any of `symbols` (one market's spellings), for symbols that may hold no
    position (fee conversion)."""
    symbols = list(symbols)
    mark = (Mark.objects.filter(account=account, symbol__in=symbols).order_by("-ts", "-id")
            .values_list("price", "ts").first())
    snap = (
        PositionSnapshot.objects.filter(account=account, symbol__in=symbols, source=SnapshotSource.REPORTED,
                                        mark_price__isnull=False)
        .order_by("-exchange_ts", "-id").values_list("mark_price", "exchange_ts").first()
    )
    state = (
        PositionState.objects.filter(account=account, symbol__in=symbols, last_price__isnull=False)
        .order_by("-last_executed_at").values_list("last_price", "last_executed_at").first()
    )
    return pick([
        Price(mark[0], "mark", mark[1]) if mark else None,
        Price(snap[0], "position", snap[1]) if snap else None,
        Price(state[0], "fill", state[1]) if state else None,
    ])


def conversion_symbols(currency: str, base: str) -> tuple[str, ...]:
    """The marks that convert a fee currency into the base, in the usual spellings (SPEC 4.3):
    BNB in USDT → BNBUSDT (Binance, Bybit), BNB/USDT (CCXT spot), BNB-USDT (OKX), BNB/USDT:USDT
    (CCXT's linear perpetual). The newest mark of any of them converts."""
    currency, base = currency.upper(), base.upper()
    return (f"{currency}{base}", f"{currency}/{base}", f"{currency}-{base}", f"{currency}/{base}:{base}")


def converted_currency(symbol: str, base: str) -> str | None:
    """The currency whose price in `base` the symbol's marks give, where it is one of the
    `conversion_symbols` spellings ('BNB/USDT:USDT' → 'BNB'), else None."""
    base = base.upper()
    for suffix in (f"/{base}:{base}", f"/{base}", f"-{base}", base):
        if symbol.endswith(suffix) and len(symbol) > len(suffix):
            currency = symbol[: -len(suffix)]
            return currency if symbol in conversion_symbols(currency, base) else None
    return None
