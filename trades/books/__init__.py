"""The books (SPEC 5): positions and PnL from the fills.

What the other parts call:

- `lock_for_fills(*, account, fills).book()`: ingest, inside the write transaction, with
  the fills it just created (`BookedFill`, any order). Keeps PositionState so reads never
  replay history; a fill older than the newest applied one of its symbol makes that
  symbol recompute from its fills. `apply_fills` is the same for stored Fill rows.
- `recompute_symbols(*, account, symbols)`: rebuild PositionState of those symbols from
  their non-void fills (after a void, or by verify_ledger).
- `valuation(*, account)`: cheap — positions, cash, equity… now (valuation.py).
- `positions(*, account)`, `summary(*, account)`, `period_pnl(*, account, period)`,
  `performance(*, account, by)`: the figures of SPEC 5 (report.py).
- `day_rows(account)`: every day of the account to today (reads only).
- `roll_up_days(*, account, until=None)`: store DailyPnl for closed days (Celery only; rollup.py);
  `days_behind(account)`: whether they need it.

Modules: fills.py (what the books read of a fill), cost.py (the engines, the rounding
rule), state.py (PositionState), marks.py, valuation.py, rollup.py (days, time-weighted
returns), report.py, verify.py.
"""

from trades.books.attribution import symbols_booked_before
from trades.books.fills import BookedFill
from trades.books.report import performance, period_pnl, summary
from trades.books.rollup import DayRow, day_rows, days_behind, roll_up_days
from trades.books.state import apply_fills, lock_for_fills, recompute_account, recompute_symbols
from trades.books.valuation import PositionView, Valuation, positions, valuation

__all__ = [
    "BookedFill", "DayRow", "PositionView", "Valuation", "apply_fills", "day_rows", "days_behind", "lock_for_fills",
    "performance", "period_pnl", "positions", "recompute_account", "recompute_symbols", "roll_up_days", "summary",
    "symbols_booked_before", "valuation",
]
