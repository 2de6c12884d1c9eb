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
from psycopg import sql

from accounts.models import Account
from trades.models import Fill

# The columns of a streamed row, in order; `attribution` adds ("bot_id", "trade_id").
ROW_COLUMNS = ("symbol", "id", "side", "price", "quantity", "fee", "fee_currency", "other_fees", "executed_at",
               "reported_pnl")
ATTRIBUTION_COLUMNS = ("bot_id", "trade_id")


@dataclass(slots=True, frozen=True)
class BookedFill:
    """A fill as the books take it."""

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

    @classmethod
    def from_row(cls, row: dict) -> BookedFill:
        """From the values of a row as inserted (attnames, with its id)."""
        return cls(row["id"], row["symbol"], row["side"], row["price"], row["quantity"], row["fee"],
                   row["fee_currency"], row["other_fees"], row["executed_at"], row["reported_pnl"])

    @classmethod
    def of(cls, fill: Fill) -> BookedFill:
        """From a stored Fill row."""
        return cls(fill.pk, fill.symbol, fill.side, fill.price, fill.quantity, fill.fee, fill.fee_currency,
                   fill.other_fees, fill.executed_at, fill.reported_pnl)

    def as_row(self) -> tuple:
        """What `Book.apply_rows` takes."""
        return (self.pk, self.side, self.price, self.quantity, self.fee, self.fee_currency, self.other_fees,
                self.executed_at, self.reported_pnl)


def fill_rows(account: Account, symbols: Sequence[str] | None = None, *, by_time: bool = False,
              before: datetime | None = None, attribution: bool = False) -> Iterator[tuple]:
    """The account's non-void fills as tuples of ROW_COLUMNS (+ ATTRIBUTION_COLUMNS), ordered by
    (symbol, executed_at, id), or by (executed_at, id) with `by_time`. On PostgreSQL `id` and
    `executed_at` come as text (ISO, UTC), for the caller to convert only where it needs to."""
    columns = ROW_COLUMNS + (ATTRIBUTION_COLUMNS if attribution else ())
    order = ("executed_at", "id") if by_time else ("symbol", "executed_at", "id")
    if connection.vendor == "postgresql":
        yield from _copy_rows(account, symbols, columns, order, before)
        return
    qs = Fill.objects.filter(account=account, voided_at__isnull=True)
    if symbols is not None:
        qs = qs.filter(symbol__in=symbols)
    if before is not None:
        qs = qs.filter(executed_at__lt=before)
    yield from qs.order_by(*order).values_list(*columns).iterator(chunk_size=20000)


# How COPY hands each column over: amounts as Decimal, everything else as text (converted
# by the caller only where needed: an id or a time is parsed once per book, not per fill).
_COPY_TYPES = {"price": "numeric", "quantity": "numeric", "fee": "numeric", "reported_pnl": "numeric",
               "bot_id": "int8"}


def _copy_rows(account: Account, symbols, columns: Sequence[str], order: Sequence[str], before) -> Iterator[tuple]:
    where = [sql.SQL("account_id = {}").format(sql.Literal(account.pk)), sql.SQL("voided_at IS NULL")]
    if symbols is not None:
        where.append(sql.SQL("symbol = ANY({})").format(sql.Literal(list(symbols))))
    if before is not None:
        where.append(sql.SQL("executed_at < {}").format(sql.Literal(before)))
    fees = columns.index("other_fees")
    select = [sql.Identifier(c) for c in columns]
    select[fees] = sql.SQL("NULLIF({}, '[]'::jsonb)").format(sql.Identifier("other_fees"))  # most fills pay one fee
    query = sql.SQL("COPY (SELECT {} FROM {} WHERE {} ORDER BY {}) TO STDOUT").format(
        sql.SQL(", ").join(select), sql.Identifier(Fill._meta.db_table), sql.SQL(" AND ").join(where),
        sql.SQL(", ").join(sql.Identifier(c) for c in order))
    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(query) as copy:
        copy.set_types([_COPY_TYPES.get(c, "text") for c in columns])
        for row in copy.rows():
            if row[fees] is not None:
                row = (*row[:fees], json.loads(row[fees]), *row[fees + 1:])
            yield row
