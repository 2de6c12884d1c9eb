"""Attribution: who earned the PnL, per bot and per strategy (the performance report).

The engine credits each fill's realized PnL and fees to the fill's own bot and to the
strategy of the fill's trade (`Book.attribute`); the sums per (bot, strategy) live in each
symbol's PositionState with the rest of its books — kept with the same new fills under the
same lock, rebuilt with it, checked by verify_ledger with it. Here: what the booking needs to
know of a fill's trade.
"""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import Account
from trades.models import Fill, Trade


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
