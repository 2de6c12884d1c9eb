"""The closed trades of an account, added up per bot and strategy (`ClosedTradeTally`).

Trades close in ingest (`trades/ingest/lifecycle.py`), which hands the closed trades here in
the same transaction; the reports read the few tally rows. `recount` adds an account's closed
trades up from scratch (verify_ledger, repairs, the migration that made the table).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext

from accounts.models import Account
from core.amounts import AMOUNT_CONTEXT
from trades.books.cost import ZERO, Key, count_outcome
from trades.models import ClosedTradeTally, Trade, TradeStatus

COUNTERS = ("trades", "counted", "wins", "losses", "won", "lost", "reported", "reported_pnl")


@dataclass
class Tally:
    trades: int = 0
    counted: int = 0
    wins: int = 0
    losses: int = 0
    won: Decimal = ZERO
    lost: Decimal = ZERO
    reported: int = 0
    reported_pnl: Decimal = ZERO

    def add_trade(self, pnl: Decimal | None, reported_pnl: Decimal | None) -> None:
        self.trades += 1
        if reported_pnl is not None:
            self.reported += 1
            self.reported_pnl += reported_pnl
        pnl = pnl if pnl is not None else reported_pnl
        if pnl is None:
            return
        self.counted += 1
        count_outcome(self, pnl)

    def add(self, other: Tally) -> None:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def tallied(trades: Iterable[Trade]) -> dict[Key, Tally]:
    """Closed trades (with bot_id, strategy, pnl, reported_pnl) added up by key."""
    out: dict[Key, Tally] = {}
    with localcontext(AMOUNT_CONTEXT):
        for trade in trades:
            out.setdefault((trade.bot_id or 0, trade.strategy), Tally()).add_trade(trade.pnl, trade.reported_pnl)
    return out


def add_closed(account: Account, trades: Iterable[Trade]) -> None:
    """Count trades just closed (in the closing transaction). The tally rows are created when
    missing, then locked in key order (every closer locks them so) and updated."""
    new = tallied(trades)
    if not new:
        return
    keys = sorted(new)
    ClosedTradeTally.objects.bulk_create([ClosedTradeTally(account=account, bot_id=b, strategy=s) for b, s in keys],
                                         ignore_conflicts=True)
    rows = {(row.bot_id, row.strategy): row for row in ClosedTradeTally.objects.select_for_update().filter(
        account=account, bot_id__in={b for b, _s in keys}, strategy__in={s for _b, s in keys}).order_by(
        "bot_id", "strategy")}
    changed = []
    with localcontext(AMOUNT_CONTEXT):
        for key in keys:
            row = rows[key]
            for name in COUNTERS:
                setattr(row, name, getattr(row, name) + getattr(new[key], name))
            changed.append(row)
    ClosedTradeTally.objects.bulk_update(changed, COUNTERS)


def stored(account: Account) -> dict[Key, Tally]:
    return {(row.bot_id, row.strategy): Tally(**{name: getattr(row, name) for name in COUNTERS})
            for row in ClosedTradeTally.objects.filter(account=account)}


def counted_again(account: Account) -> dict[Key, Tally]:
    """The account's closed trades added up from the trades themselves."""
    return tallied(Trade.objects.filter(account=account, status=TradeStatus.CLOSED)
                   .only("bot_id", "strategy", "pnl", "reported_pnl").iterator(chunk_size=10000))


def recount(account: Account) -> None:
    """The tally becomes the account's closed trades added up again."""
    ClosedTradeTally.objects.filter(account=account).delete()
    ClosedTradeTally.objects.bulk_create(
        [ClosedTradeTally(account=account, bot_id=b, strategy=s, **{n: getattr(t, n) for n in COUNTERS})
         for (b, s), t in sorted(counted_again(account).items())], batch_size=1000)
