"""tradebook's Python client for bots: post fills, orders, trades, signals and snapshots
without writing HTTP code, retries or a local buffer.

    from tradebook_client import Client

    with Client("http://127.0.0.1:8000", token, spool="bot.sqlite") as tb:
        tb.fill(id="T-1", symbol="BTCUSDT", side="buy", price="42000.5", quantity="0.01",
                executed_at=time.time())

See README.md for the whole API.
"""

from ._aio import AsyncClient
from ._client import Client, __version__
from .errors import ApiError, ClientClosed, ItemError, SpoolLocked, TradebookError, Unavailable
from .models import Answer, FlushResult, Position, Rejected, Summary, Trade

__all__ = [
    "Answer",
    "ApiError",
    "AsyncClient",
    "Client",
    "ClientClosed",
    "FlushResult",
    "ItemError",
    "Position",
    "Rejected",
    "SpoolLocked",
    "Summary",
    "Trade",
    "TradebookError",
    "Unavailable",
    "__version__",
]
