"""Verify the stored books: recompute every PositionState (its attribution included) from the
fills alone, and the closed trades' tally from the trades, and compare.

Both are derived data kept incrementally by ingest; this is the check that the increments
never drifted (and the repair when they did: `repair=True` recomputes the symbols that differ).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from accounts.models import Account
from trades.books import tally
from trades.books.state import STATE_FIELDS, book_to_state, new_book, recompute_symbols, stream_books
from trades.models import PositionState

COMPARED = [f for f in STATE_FIELDS if f != "updated_at"]


@dataclass
class Difference:
    account: str
    symbol: str
    field: str
    stored: object
    recomputed: object

    def __str__(self) -> str:
        return f"{self.account} {self.symbol} {self.field}: stored {self.stored!r} != recomputed {self.recomputed!r}"


@dataclass
class Verification:
    accounts: int = 0
    symbols: int = 0
    fills: int = 0
    differences: list[Difference] = field(default_factory=list)
    repaired: int = 0


def _row(state: PositionState) -> dict:
    return {f: getattr(state, f) for f in COMPARED}


def verify_account(*, account: Account, result: Verification | None = None, repair: bool = False,
                   progress: Callable[[int], None] | None = None) -> Verification:
    """Compare the account's stored states with a recompute (streamed, one symbol at a time)."""
    result = result or Verification()
    stored = {s.symbol: _row(s) for s in PositionState.objects.filter(account=account).order_by("symbol")}
    empty = _row(book_to_state(new_book(account), PositionState()))
    bad: set[str] = set()
    seen: set[str] = set()
    for symbol, book in stream_books(account):
        seen.add(symbol)
        result.symbols += 1
        result.fills += book.fill_count
        if progress is not None:
            progress(book.fill_count)
        expected = _row(book_to_state(book, PositionState(account=account, symbol=symbol)))
        have = stored.get(symbol)
        if have is None:
            result.differences.append(Difference(account.slug, symbol, "state", None, "missing"))
            bad.add(symbol)
            continue
        for name in COMPARED:
            if have[name] != expected[name]:  # Decimals compare by value; JSON holds canonical strings
                result.differences.append(Difference(account.slug, symbol, name, have[name], expected[name]))
                bad.add(symbol)
    for symbol, have in stored.items():
        if symbol in seen:
            continue
        for name in COMPARED:  # a state without (non-void) fills must be empty
            if have[name] != empty[name]:
                result.differences.append(Difference(account.slug, symbol, name, have[name], empty[name]))
                bad.add(symbol)
    stored_tally, counted_tally = tally.stored(account), tally.counted_again(account)
    tally_wrong = stored_tally != counted_tally
    if tally_wrong:
        result.differences.append(Difference(account.slug, "*", "closed trade tally", stored_tally, counted_tally))
    result.accounts += 1
    if repair and bad:
        recompute_symbols(account=account, symbols=bad)
        result.repaired += len(bad)
    if repair and tally_wrong:
        tally.recount(account)
    return result
