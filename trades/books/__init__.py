"""The books (SPEC 5): positions and PnL from the fills.

Contract used by the other doors (ingest, snapshots, commands):

- `apply_fills(*, account, fills)`: called by ingest inside the write transaction
  with the Fill rows it just created (any order). Updates PositionState so reads
  never replay history; a fill older than the newest applied one of its symbol
  makes that symbol recompute from its fills.
- `recompute_symbols(*, account, symbols)`: rebuild PositionState of those symbols
  from their non-void fills (after a void, or by verify_ledger).
- `positions(*, account)`, `summary(*, account)`: the figures of SPEC 5 (see report.py).
"""

# TODO (books): not built yet — these stubs keep ingest callable meanwhile.


def apply_fills(*, account, fills) -> None:
    return None


def recompute_symbols(*, account, symbols) -> None:
    return None
