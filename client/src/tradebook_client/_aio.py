"""AsyncClient: the Client's methods as coroutines, for bots written with asyncio."""

from __future__ import annotations

import asyncio
import functools
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, TypeVar

from ._client import Client
from .models import FlushResult, Position, Rejected, Summary, Trade

R = TypeVar("R")


class AsyncClient:
    """`AsyncClient(url, token, **options)` takes Client's options and offers its methods to
    await. Sending still happens on the client's background thread, never on the event loop.

    Queueing without a spool only appends to memory and runs inline. With a spool, each call
    waits for its item to be on disk in a worker thread, so the loop is not blocked by the
    fsync — and concurrent calls from many tasks share one transaction (group commit).
    Flushing, closing and reading run in worker threads too."""

    def __init__(self, url: str, token: str, **options: Any) -> None:
        self.client = Client(url, token, **options)
        self._inline = not self.client._queue.durable

    async def _queue(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        if self._inline:
            return fn(*args, **kwargs)
        return await self._thread(fn, *args, **kwargs)

    @staticmethod
    async def _thread(fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))

    async def fill(self, **item: Any) -> Dict[str, Any]:
        return await self._queue(self.client.fill, **item)

    async def order(self, **item: Any) -> Dict[str, Any]:
        return await self._queue(self.client.order, **item)

    async def open_trade(self, **item: Any) -> Dict[str, Any]:
        return await self._queue(self.client.open_trade, **item)

    async def update_trade(self, id: str, **changes: Any) -> Dict[str, Any]:
        return await self._queue(self.client.update_trade, id, **changes)

    async def close_trade(self, id: str, **item: Any) -> Dict[str, Any]:
        return await self._queue(self.client.close_trade, id, **item)

    async def signal(self, **item: Any) -> Dict[str, Any]:
        return await self._queue(self.client.signal, **item)

    async def position(self, **item: Any) -> Dict[str, Any]:
        return await self._queue(self.client.position, **item)

    async def wallet(self, **item: Any) -> Dict[str, Any]:
        return await self._queue(self.client.wallet, **item)

    async def equity(self, **item: Any) -> Dict[str, Any]:
        return await self._queue(self.client.equity, **item)

    async def cashflow(self, **item: Any) -> Dict[str, Any]:
        return await self._queue(self.client.cashflow, **item)

    async def mark(self, **item: Any) -> Dict[str, Any]:
        return await self._queue(self.client.mark, **item)

    async def log(self, message: str, level: str = "info", **extra: Any) -> Dict[str, Any]:
        return await self._queue(self.client.log, message, level, **extra)

    async def fills(self, items: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
        return await self._queue(self.client.fills, list(items))

    async def enqueue(self, items: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
        return await self._queue(self.client.enqueue, list(items))

    def pending(self) -> int:
        return self.client.pending()

    async def flush(self, timeout: Optional[float] = None) -> FlushResult:
        return await self._thread(self.client.flush, timeout)

    async def close(self, timeout: Optional[float] = None) -> FlushResult:
        return await self._thread(self.client.close, timeout)

    async def rejected(self) -> List[Rejected]:
        return await self._thread(self.client.rejected)

    async def requeue_rejected(self, ids: Optional[Iterable[int]] = None) -> int:
        return await self._thread(self.client.requeue_rejected, ids)

    async def open_trades(self, symbol: Optional[str] = None) -> List[Trade]:
        return await self._thread(self.client.open_trades, symbol)

    async def trade(self, id: str) -> Trade:
        return await self._thread(self.client.trade, id)

    async def positions(self) -> List[Position]:
        return await self._thread(self.client.positions)

    async def summary(self) -> Summary:
        return await self._thread(self.client.summary)

    async def account_slug(self) -> str:
        return await self._thread(self.client.account_slug)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        await self._thread(self.client.__exit__, exc_type, exc, tb)
