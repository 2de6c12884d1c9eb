"""Attribution: who earned a symbol's PnL, per bot and per strategy (the performance report).

The engine books a symbol's fills in order; each fill's realized PnL, fees and count are
credited to the fill's own bot and to the strategy of the fill's trade — the one
that closed the position earns the closing PnL. The sums per (symbol, bot, strategy) are
kept in `Attribution` rows beside PositionState, updated with the same new fills under the
same lock, and rebuilt with it when a symbol is recomputed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from accounts.models import Account
from core.amounts import AMOUNT_CONTEXT, decimal_str, q18
from trades.books.cost import ZERO, Book
from trades.models import Attribution, Fill, Trade

Key = tuple[int, str]  # (bot id or 0, strategy or "")


@dataclass
class Share:
    """What the fills of one (symbol, bot, strategy) earned and paid."""

    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    other_fees: dict[str, Decimal] = field(default_factory=dict)
    fills: int = 0

    def add(self, other: Share) -> None:
        self.realized_pnl += other.realized_pnl
        self.fees += other.fees
        for currency, amount in other.other_fees.items():
            self.other_fees[currency] = self.other_fees.get(currency, ZERO) + amount
        self.fills += other.fills


def run_and_share(book: Book, rows: list[tuple], keys: list[Key]) -> dict[Key, Share]:
    """Book `rows` (the engine's (pk, side, price, quantity, fees, executed_at, reported_pnl),
    fees as [(amount, CURRENCY)]) and share out each fill's realized PnL and fees to its key."""
    realized: list[Decimal] = []
    book.run(rows, realized)
    shares: dict[Key, Share] = {}
    base = book.base
    with localcontext(AMOUNT_CONTEXT):
        for (_pk, _side, _price, _quantity, fees, _at, _reported), key, pnl in zip(rows, keys, realized, strict=True):
            share = shares.get(key)
            if share is None:
                share = shares[key] = Share()
            share.realized_pnl += pnl
            for amount, currency in fees:
                if currency == base:
                    share.fees += amount
                else:
                    share.other_fees[currency] = share.other_fees.get(currency, ZERO) + amount
            share.fills += 1
    return shares


def strategies_of(account: Account, trade_ids: Iterable[str]) -> dict[str, str]:
    """{trade id: its strategy} of these trades (those without a strategy left out)."""
    ids = {t for t in trade_ids if t}
    if not ids:
        return {}
    return {external_id: strategy for external_id, strategy in
            Trade.objects.filter(account=account, external_id__in=ids).exclude(strategy="")
            .values_list("external_id", "strategy")}


def symbols_booked_before(account: Account, *, trade_ids: Iterable[str], excluding: set[int]) -> set[str]:
    """The symbols of fills of these trades other than `excluding`: booked before the trade was
    known, so their strategy must be attributed anew."""
    ids = set(trade_ids)
    if not ids:
        return set()
    return {symbol for pk, symbol in Fill.objects.filter(account=account, trade_id__in=ids, voided_at__isnull=True)
            .values_list("pk", "symbol") if pk not in excluding}


def add_shares(account: Account, symbol_shares: dict[str, dict[Key, Share]]) -> None:
    """Add these shares to the stored rows (their symbols' states are locked by the caller)."""
    symbols = [symbol for symbol, shares in symbol_shares.items() if shares]
    if not symbols:
        return
    stored = {(row.symbol, row.bot_id, row.strategy): row
              for row in Attribution.objects.filter(account=account, symbol__in=symbols)}
    rows = []
    for symbol in symbols:
        for (bot_id, strategy), share in symbol_shares[symbol].items():
            row = stored.get((symbol, bot_id, strategy))
            total = Share() if row is None else _share_of(row)
            total.add(share)
            rows.append(_row(account, symbol, (bot_id, strategy), total))
    _save(rows)


def replace_shares(account: Account, symbol_shares: dict[str, dict[Key, Share]]) -> None:
    """The stored rows of these symbols become exactly these shares (after a recompute)."""
    Attribution.objects.filter(account=account, symbol__in=list(symbol_shares)).delete()
    _save([_row(account, symbol, key, share)
           for symbol, shares in symbol_shares.items() for key, share in shares.items()])


def stored_shares(account: Account) -> dict[str, dict[Key, Share]]:
    out: dict[str, dict[Key, Share]] = {}
    for row in Attribution.objects.filter(account=account):
        out.setdefault(row.symbol, {})[(row.bot_id, row.strategy)] = _share_of(row)
    return out


def _share_of(row: Attribution) -> Share:
    return Share(row.realized_pnl, row.fees, {c: Decimal(a) for c, a in (row.other_fees or {}).items()}, row.fills)


def _row(account: Account, symbol: str, key: Key, share: Share) -> Attribution:
    bot_id, strategy = key
    return Attribution(account=account, symbol=symbol, bot_id=bot_id, strategy=strategy,
                       realized_pnl=q18(share.realized_pnl), fees=q18(share.fees),
                       other_fees={c: decimal_str(q18(a)) for c, a in sorted(share.other_fees.items())},
                       fills=share.fills)


def _save(rows: list[Attribution]) -> None:
    if rows:
        Attribution.objects.bulk_create(
            rows, batch_size=1000, update_conflicts=True, unique_fields=["account", "symbol", "bot_id", "strategy"],
            update_fields=["realized_pnl", "fees", "other_fees", "fills"],
        )
