"""The one reader of a fill's booked columns: what the books take of a fill, and how they read it.

`BookedFill` is a fill as the books see it (its key columns aside). `fill_rows` streams an
account's non-void fills in the order the books replay them: by COPY on PostgreSQL (it
streams while the books compute, and skips the per-value converters of a cursor), in
chunks of a plain query elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from psycopg import sql

from accounts.models import Account
from core.sql.reads import copy_out
from trades.books.cost import fill_fees
from trades.models import Fill, Trade

# The columns a streamed row is made of, in order; `attribution` adds the fill's bot id (0: none) and
# the strategy of its trade ("": none).
ROW_COLUMNS = ("symbol", "id", "side", "price", "quantity", "fee", "fee_currency", "other_fees", "executed_at",
               "reported_pnl")


@dataclass(slots=True)
class BookedFill:
    """A fill as the books take it. (Not frozen: a frozen dataclass's __init__ sets each field through
    object.__setattr__, three times the cost, and a batch makes thousands.)"""

    pk: int
    symbol: str
    side: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_currency: str
    other_fees: list
    executed_at: datetime
    reported_pnl: Decimal | None
    bot_id: int | None  # who earned it (attribution), with the strategy of its trade
    trade_id: str

    @classmethod
    def from_row(cls, row: dict) -> BookedFill:
        """From the values of a row as inserted (attnames, with its id)."""
        return cls(row["id"], row["symbol"], row["side"], row["price"], row["quantity"], row["fee"],
                   row["fee_currency"], row["other_fees"], row["executed_at"], row["reported_pnl"], row["bot_id"],
                   row["trade_id"])

    @classmethod
    def of(cls, fill: Fill) -> BookedFill:
        """From a stored Fill row."""
        return cls(fill.pk, fill.symbol, fill.side, fill.price, fill.quantity, fill.fee, fill.fee_currency,
                   fill.other_fees, fill.executed_at, fill.reported_pnl, fill.bot_id, fill.trade_id)

    def as_row(self) -> tuple:
        """What `Book.apply_rows` takes."""
        return (self.pk, self.side, self.price, self.quantity, self.fee, self.fee_currency, self.other_fees,
                self.executed_at, self.reported_pnl)


def fill_rows(account: Account, symbols: Sequence[str] | None = None, *, by_time: bool = False,
              before: datetime | None = None, attribution: bool = False) -> Iterator[tuple[str, tuple, tuple]]:
    """The account's non-void fills as the books replay them: (symbol, key, row), ordered by
    (symbol, executed_at, id), or by (executed_at, id) with `by_time`. `row` is what `Book.run`
    takes — (pk, side, price, quantity, fees as [(amount, CURRENCY)], executed_at, reported_pnl);
    `key` is the fill's (bot id or 0, its trade's strategy or "") with `attribution`, else None.
    On PostgreSQL `pk` and `executed_at` come as text (ISO, UTC): a book converts its last
    fill's only."""
    order = ("executed_at", "id") if by_time else ("symbol", "executed_at", "id")
    base = account.base_currency.upper()
    if connection.vendor == "postgresql":
        return _copy_rows(account, symbols, order, before, attribution, base)
    qs = Fill.objects.filter(account=account, voided_at__isnull=True)
    if symbols is not None:
        qs = qs.filter(symbol__in=symbols)
    if before is not None:
        qs = qs.filter(executed_at__lt=before)
    columns = ROW_COLUMNS
    if attribution:
        trade = Trade.objects.filter(account_id=OuterRef("account_id"), external_id=OuterRef("trade_id"))
        qs = qs.annotate(bot_key=Coalesce("bot_id", 0), strategy_of_trade=Coalesce(
            Subquery(trade.values("strategy")[:1]), Value("")))
        columns += ("bot_key", "strategy_of_trade")
    return ((symbol, (rest[0], rest[1]) if rest else None,
             (pk, side, price, quantity, fill_fees(fee, fee_currency, other_fees, base), at, reported))
            for symbol, pk, side, price, quantity, fee, fee_currency, other_fees, at, reported, *rest
            in qs.order_by(*order).values_list(*columns).iterator(chunk_size=20000))


def _copy_rows(account: Account, symbols, order: Sequence[str], before, attribution: bool,
               base: str) -> Iterator[tuple[str, tuple, tuple]]:
    f = sql.Identifier("f")
    where = [sql.SQL("{}.account_id = {}").format(f, sql.Literal(account.pk)), sql.SQL("f.voided_at IS NULL")]
    if symbols is not None:
        where.append(sql.SQL("f.symbol = ANY({})").format(sql.Literal(list(symbols))))
    if before is not None:
        where.append(sql.SQL("f.executed_at < {}").format(sql.Literal(before)))
    # No NULL in the common row (an empty field says "none"): COPY's text then needs no unescaping.
    select = [sql.SQL("f.symbol, f.id, f.side, f.price, f.quantity, f.fee, f.fee_currency, "
                      "CASE WHEN f.other_fees = '[]'::jsonb THEN '' ELSE f.other_fees::text END, f.executed_at, "
                      "COALESCE(f.reported_pnl::text, '')")]
    source = sql.SQL("{} f").format(sql.Identifier(Fill._meta.db_table))
    if attribution:
        select.append(sql.SQL("COALESCE(f.bot_id, 0), COALESCE(t.strategy, '')"))
        source = sql.SQL("{} LEFT JOIN {} t ON t.account_id = f.account_id AND t.external_id = f.trade_id").format(
            source, sql.Identifier(Trade._meta.db_table))
    query = sql.SQL("COPY (SELECT {} FROM {} WHERE {} ORDER BY {}) TO STDOUT").format(
        sql.SQL(", ").join(select), source, sql.SQL(" AND ").join(where),
        sql.SQL(", ").join(sql.SQL("f.{}").format(sql.Identifier(c)) for c in order))

    def row(fields: list) -> tuple[str, tuple, tuple]:
        symbol, pk, side, price, quantity, fee, fee_currency, other_fees, at, reported, *rest = fields
        fees = fill_fees(fee, fee_currency, json.loads(other_fees) if other_fees else None, base)
        return (symbol, (int(rest[0]), rest[1]) if rest else None,
                (pk, side, Decimal(price), Decimal(quantity), fees, at, Decimal(reported) if reported else None))

    return copy_out(query, row)
