"""The books (SPEC 5): positions and PnL from the fills.

Contract used by the other doors (ingest, snapshots, commands, API):

- `apply_fills(*, account, fills)`: called by ingest inside the write transaction
  with the Fill rows it just created (any order). Updates PositionState so reads
  never replay history; a fill older than the newest applied one of its symbol
  (or a void, or a fill applied before) makes that symbol recompute from its fills.
  `lock_for_fills(...).book()` is the same in two steps (ingest sends its journal between).
- `recompute_symbols(*, account, symbols)`: rebuild PositionState of those symbols
  from their non-void fills (after a void, or by verify_ledger).
- `valuation(*, account)`: cheap — positions, cash, equity… now (valuation.py).
- `positions(*, account)`, `summary(*, account)`: the figures of SPEC 5 (report.py).
- `period_pnl(*, account, period)`, `performance(*, account, by)`.
- `roll_up_days(*, account, until=None)`: upsert DailyPnl for closed days (rollup.py).

Modules: cost.py (pure engines, the rounding rule), state.py (PositionState),
marks.py, valuation.py, rollup.py (days, time-weighted returns), report.py.
"""

from trades.books.report import equity_curve_source, performance, period_pnl, summary
from trades.books.rollup import roll_up_days
from trades.books.state import apply_fills, lock_for_fills, recompute_account, recompute_symbols
from trades.books.valuation import PositionView, Valuation, positions, valuation

__all__ = [
    "PositionView", "Valuation", "apply_fills", "equity_curve_source", "lock_for_fills", "performance", "period_pnl", "positions", "recompute_account",
    "recompute_symbols", "roll_up_days", "summary", "valuation",
]
