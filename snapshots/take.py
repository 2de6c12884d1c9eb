"""Take one account's computed snapshot for one interval (SPEC 6).

A computed snapshot is the books' valuation written beside the bot-reported
snapshots: one PositionSnapshot per open position and one EquitySnapshot, all with
`source=computed` and `bucket` = the start of the interval. The interval comes
from the time the round was *scheduled* (floored to SNAPSHOT_INTERVAL), never from
when a worker happens to run, so every beat, worker, retry and redelivery of the
same interval lands on the same bucket.

"Exactly one per account per interval" is the database's job: the equity row and
the position rows are inserted in ONE transaction, and the partial unique indexes
`equitysnapshot_unique_bucket` (account, bucket) and
`positionsnapshot_unique_bucket` (account, symbol, bucket) refuse a second copy.
A loser of a race (or a redelivery) sees an IntegrityError, rolls its whole
transaction back and reports "duplicate": nothing half-written, nothing twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, localcontext

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import Account
from accounts.values import AMOUNT_CONTEXT, AMOUNT_LIMIT, decimal_str
from snapshots.models import EquitySnapshot, PositionSnapshot, SnapshotSource
from trades import books

CREATED = "created"
DUPLICATE = "duplicate"
INACTIVE = "inactive"
MISSING = "missing"


@dataclass(frozen=True)
class Taken:
    """What one take did. `status`: created, duplicate (the interval was taken already), inactive, missing."""

    account_id: int
    bucket: datetime
    status: str
    positions: int = 0
    equity: Decimal | None = None


def interval_start(at: datetime, *, interval: int | None = None) -> datetime:
    """The start of the SNAPSHOT_INTERVAL-second interval holding `at` (aligned to the Unix epoch, UTC)."""
    seconds = interval or settings.SNAPSHOT_INTERVAL
    if timezone.is_naive(at):
        at = at.replace(tzinfo=UTC)
    epoch = math.floor(at.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def active_account_ids() -> list[int]:
    """The accounts a round snapshots: active ones (Account.is_active), in a stable order."""
    return list(Account.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))


def take_snapshot(*, account_id: int, at: datetime, include_inactive: bool = False) -> Taken:
    """Write the computed snapshot of `account_id` for the interval holding `at`; safe to run any number of times.

    An inactive account is skipped (it may have been deactivated after the round
    was sent) unless `include_inactive` — an operator naming it explicitly.
    """
    bucket = interval_start(at)
    taken = EquitySnapshot.objects.filter(account=OuterRef("pk"), source=SnapshotSource.COMPUTED, bucket=bucket)
    # One query for "does it exist, is it active, was this interval taken already?".
    account = Account.objects.filter(pk=account_id).annotate(taken=Exists(taken)).first()
    if account is None:
        return Taken(account_id, bucket, MISSING)
    if account.taken:
        # The cheap path of a redelivery or a second beat: no valuation at all.
        return Taken(account_id, bucket, DUPLICATE)
    if not account.is_active and not include_inactive:
        return Taken(account_id, bucket, INACTIVE)

    value = books.valuation(account=account)
    now = timezone.now()
    open_positions = [p for p in value.positions if p.quantity != 0]
    equity_row = EquitySnapshot(
        account=account, source=SnapshotSource.COMPUTED, bucket=bucket, exchange_ts=bucket, received_at=now,
        equity=value.equity, cash=value.cash, positions_value=value.positions_value,
        positions_count=len(open_positions), total_trades=value.closed_trades,
        initial_capital=account.initial_capital, returns_pct=returns_pct(value.equity, account.initial_capital),
        realized_pnl=value.realized_pnl, unrealized_pnl=value.unrealized_pnl, fees=value.fees,
        funding=value.funding, meta={"taken_at": now.isoformat()},
    )
    position_rows = [
        PositionSnapshot(
            account=account, source=SnapshotSource.COMPUTED, bucket=bucket, exchange_ts=bucket, received_at=now,
            symbol=p.symbol, side=PositionSnapshot.Side.LONG if p.quantity > 0 else PositionSnapshot.Side.SHORT,
            size=abs(p.quantity), entry_price=p.average_price, mark_price=p.mark_price,
            unrealized_pnl=p.unrealized_pnl, realized_pnl=p.realized_pnl,
            meta={"mark_source": p.mark_source or "", "fees": decimal_str(p.fees)},
        )
        for p in open_positions
    ]
    # Only when this is the whole transaction: SET LOCAL would also cover a caller's own writes.
    async_commit = connection.vendor == "postgresql" and not connection.in_atomic_block
    try:
        with transaction.atomic():
            if async_commit:
                # Derived data, re-creatable at any time: do not wait for the WAL flush (half the cost of
                # a take). A PostgreSQL crash can lose the last fraction of a second of commits — at
                # worst one interval's computed snapshot — never a ledger row (none is written here).
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            # The equity row first: it is the interval's claim. A concurrent taker of the same
            # interval waits on its unique index here and then fails, before writing anything.
            equity_row.save(force_insert=True)
            _insert_positions(position_rows)
    except IntegrityError:
        if EquitySnapshot.objects.filter(
            account_id=account_id, source=SnapshotSource.COMPUTED, bucket=bucket
        ).exists():
            return Taken(account_id, bucket, DUPLICATE)
        raise  # not a lost race: a real inconsistency, let it be seen
    return Taken(account_id, bucket, CREATED, positions=len(position_rows), equity=value.equity)


# The columns a computed position snapshot sets (the others keep their defaults: NULL).
POSITION_COLUMNS = ("account", "source", "symbol", "side", "size", "entry_price", "mark_price", "unrealized_pnl",
                    "realized_pnl", "exchange_ts", "bucket", "meta", "received_at")


def _insert_positions(rows: list[PositionSnapshot]) -> None:
    """INSERT the rows with one short statement run per row (executemany; pipelined by psycopg).

    Not bulk_create: a 20-row bulk_create builds and parses a 320-parameter statement
    every time and returns the ids we do not need — it was a third of a take's CPU in
    bench/snapshot_bench.py. Values still go through each field's own preparation
    (AmountField: exact text on SQLite, numeric(38,18) on PostgreSQL).
    """
    if not rows:
        return
    fields = [PositionSnapshot._meta.get_field(name) for name in POSITION_COLUMNS]
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(PositionSnapshot._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    params = [[f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields] for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def returns_pct(equity: Decimal, initial_capital: Decimal | None) -> Decimal | None:
    """Return on initial capital in percent; None without a capital (or beyond what the column holds)."""
    if not initial_capital:
        return None
    with localcontext(AMOUNT_CONTEXT):
        pct = (equity - initial_capital) / initial_capital * 100
    return pct if abs(pct) < AMOUNT_LIMIT else None
