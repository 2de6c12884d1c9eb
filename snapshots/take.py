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
from django.utils import timezone

from accounts.models import Account
from core.amounts import AMOUNT_CONTEXT, AMOUNT_LIMIT, decimal_str, q18
from core.sql.inserts import full_row, insert_columns, insert_rows
from core.sql.reads import RowLoader
from core.sql.statements import run_prepared
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
    # One query for "does it exist, is it active, was this interval taken already?".
    found = _account_and_taken(account_id, bucket)
    if found is None:
        return Taken(account_id, bucket, MISSING)
    account, taken = found
    if taken:
        # The cheap path of a redelivery or a second beat: no valuation at all.
        return Taken(account_id, bucket, DUPLICATE)
    if not account.is_active and not include_inactive:
        return Taken(account_id, bucket, INACTIVE)

    value = books.valuation(account=account)
    now = timezone.now()
    open_positions = [p for p in value.positions if p.quantity != 0]
    common = {"account_id": account.pk, "source": SnapshotSource.COMPUTED.value, "bucket": bucket,
              "exchange_ts": bucket, "received_at": now}
    amounts = {"equity": value.equity, "cash": value.cash, "positions_value": value.positions_value,
               "initial_capital": account.initial_capital, "realized_pnl": value.realized_pnl,
               "returns_pct": returns_pct(value.equity, account.initial_capital),
               "unrealized_pnl": value.unrealized_pnl, "fees": value.fees, "funding": value.funding}
    equity_row = full_row(EquitySnapshot, {
        **common, **{name: _q18(amount) for name, amount in amounts.items()},
        "positions_count": len(open_positions), "total_trades": value.closed_trades,
        "meta": {"taken_at": now.isoformat()},
    })
    # By column (one statement, however many positions), every amount rounded by the books' one rule.
    positions = {
        "symbol": [p.symbol for p in open_positions],
        "side": [PositionSnapshot.Side.LONG.value if p.quantity > 0 else PositionSnapshot.Side.SHORT.value
                 for p in open_positions],
        "size": [q18(abs(p.quantity)) for p in open_positions],
        "entry_price": [_q18(p.average_price) for p in open_positions],
        "mark_price": [_q18(p.mark_price) for p in open_positions],
        "unrealized_pnl": [q18(p.unrealized_pnl) for p in open_positions],
        "realized_pnl": [q18(p.realized_pnl) for p in open_positions],
        "meta": [{"mark_source": p.mark_source or "", "fees": decimal_str(p.fees)} for p in open_positions],
    }
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
            insert_rows(EquitySnapshot, [equity_row], on_conflict=False)
            if open_positions:
                insert_columns(PositionSnapshot, positions, common, on_conflict=False)
    except IntegrityError:
        found = _account_and_taken(account_id, bucket)
        if found is not None and found[1]:
            return Taken(account_id, bucket, DUPLICATE)
        raise  # not a lost race: a real inconsistency, let it be seen
    return Taken(account_id, bucket, CREATED, positions=len(open_positions), equity=value.equity)


def _q18(value: Decimal | None) -> Decimal | None:
    return None if value is None else q18(value)


_account_query = None


def _account_and_taken(account_id: int, bucket: datetime) -> tuple[Account, bool] | None:
    """(the account, whether this interval's computed equity snapshot exists), or None: one
    query, written once (RowLoader) — the ORM's build of it cost more than running it."""
    global _account_query
    if _account_query is None:
        quote = connection.ops.quote_name
        accounts = RowLoader(Account, "a")
        sql = (f"SELECT {accounts.columns}, EXISTS (SELECT 1 FROM {quote(EquitySnapshot._meta.db_table)} e "
               f"WHERE e.{quote('account_id')} = a.{quote('id')} AND e.{quote('source')} = %s "
               f"AND e.{quote('bucket')} = %s) FROM {quote(Account._meta.db_table)} a WHERE a.{quote('id')} = %s")
        _account_query = (sql, accounts)
    sql, accounts = _account_query
    rows = run_prepared(sql, [SnapshotSource.COMPUTED.value, connection.ops.adapt_datetimefield_value(bucket),
                              account_id])
    if not rows:
        return None
    return accounts.load(rows[0][:-1]), bool(rows[0][-1])


def returns_pct(equity: Decimal, initial_capital: Decimal | None) -> Decimal | None:
    """Return on initial capital in percent; None without a capital (or beyond what the column holds)."""
    if not initial_capital:
        return None
    with localcontext(AMOUNT_CONTEXT):
        pct = (equity - initial_capital) / initial_capital * 100
    return pct if abs(pct) < AMOUNT_LIMIT else None
