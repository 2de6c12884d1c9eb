"""Marks: the price an open position is valued at (SPEC 5).

The newest, by its own time, of: a posted Mark (`mark`), a reported position
snapshot's mark_price (`position`), the last fill's price (`fill`). On a tie the
more deliberate source wins (mark, then position, then fill).

Position marks come from reported snapshots only: a computed snapshot's mark is a
price we chose ourselves and would only echo an older mark back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import OuterRef, QuerySet, Subquery

from accounts.fields import AmountField
from accounts.models import Account
from snapshots.models import Mark, PositionSnapshot, SnapshotSource
from trades.ingest.sql import CompiledQuery
from trades.models import PositionState

SOURCE_RANK = {"mark": 0, "position": 1, "fill": 2}


@dataclass(frozen=True)
class Price:
    price: Decimal
    source: str  # mark / position / fill
    at: datetime | None


def _newest(qs, column):
    return Subquery(qs.values(column)[:1], output_field=qs.model._meta.get_field(column))


def states_with_prices(account: Account) -> list[PositionState]:
    """The account's states, each annotated with its newest mark and reported position
    snapshot (price, time, and the snapshot's size/side for reconciliation).

    Correlated subqueries, one index probe each (mark_account_symbol_time,
    possnap_account_symbol_time): cheap however long the history is. Compiled once
    (CompiledQuery): the snapshot round runs it for every account each interval.
    """
    return _STATES_WITH_PRICES.get(account.pk)


def _states_with_prices(account_id: int) -> QuerySet[PositionState]:
    marks = Mark.objects.filter(account_id=account_id, symbol=OuterRef("symbol")).order_by("-ts", "-id")
    snaps = PositionSnapshot.objects.filter(
        account_id=account_id, symbol=OuterRef("symbol"), source=SnapshotSource.REPORTED
    ).order_by("-exchange_ts", "-id")
    priced = snaps.filter(mark_price__isnull=False)
    return (
        PositionState.objects.filter(account_id=account_id)
        .annotate(
            mark_px=Subquery(marks.values("price")[:1], output_field=AmountField()),
            mark_ts=_newest(marks, "ts"),
            pos_px=Subquery(priced.values("mark_price")[:1], output_field=AmountField()),
            pos_ts=_newest(priced, "exchange_ts"),
            rep_size=Subquery(snaps.values("size")[:1], output_field=AmountField()),
            rep_side=_newest(snaps, "side"),
            rep_ts=_newest(snaps, "exchange_ts"),
        )
        .order_by("symbol")
    )


_STATES_WITH_PRICES = CompiledQuery(_states_with_prices)


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


def newest_price(account: Account, symbol: str) -> Price | None:
    """The mark of one symbol, for symbols that may hold no position (fee conversion)."""
    mark = Mark.objects.filter(account=account, symbol=symbol).order_by("-ts", "-id").values_list("price", "ts").first()
    snap = (
        PositionSnapshot.objects.filter(account=account, symbol=symbol, source=SnapshotSource.REPORTED,
                                        mark_price__isnull=False)
        .order_by("-exchange_ts", "-id").values_list("mark_price", "exchange_ts").first()
    )
    state = (
        PositionState.objects.filter(account=account, symbol=symbol, last_price__isnull=False)
        .values_list("last_price", "last_executed_at").first()
    )
    return pick([
        Price(mark[0], "mark", mark[1]) if mark else None,
        Price(snap[0], "position", snap[1]) if snap else None,
        Price(state[0], "fill", state[1]) if state else None,
    ])


def conversion_symbol(currency: str, base: str) -> str:
    """The mark that converts a fee currency into the base: BNB in USDT → 'BNBUSDT'."""
    return f"{currency.upper()}{base.upper()}"
