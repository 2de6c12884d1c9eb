"""The synchronous client: queue items, send them in batches from a background thread,
retry what failed, keep refused items aside, read trades, positions and the summary."""

from __future__ import annotations

import atexit
import logging
import os
import random
import threading
import time
import weakref
from datetime import datetime
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import urlencode

from . import _items
from ._queue import Entry, MemoryQueue, Spool
from ._transport import NETWORK_ERRORS, Response, Transport, split_url
from .errors import ApiError, ClientClosed, ItemError, TradebookError, Unavailable
from .models import Answer, FlushResult, Position, Rejected, Summary, Trade

__version__ = "0.1.0"

log = logging.getLogger("tradebook_client")

EVENTS = "/api/v1/events/"
# Refusals naming items: those items are set aside, never retried.
REFUSED = (400, 404, 409, 413, 422)

_OK, _RETRY, _AGAIN = "ok", "retry", "again"  # outcomes of one request

_live: weakref.WeakSet[Client] = weakref.WeakSet()


@atexit.register
def _close_at_exit() -> None:
    for client in list(_live):
        try:
            client.close(timeout=client.exit_timeout)
        except Exception:  # noqa: BLE001 - at exit, report and go on with the others
            log.exception("tradebook client: closing at exit failed")


class Client:
    """A tradebook client for one bot: `Client(url, token, account=..., spool=...)`.

    The item methods check the item, queue it, and return it as queued (a dict, with the
    id the client gave a signal or log that had none). A background thread sends what is
    queued every `flush_interval` seconds, or as soon as `batch_size` items wait, to
    `POST /api/v1/events/` — one request per batch, in the order queued.

    Without `spool` the queue is in memory: what is not yet sent when the process dies is
    lost. With `spool="bot.sqlite"` every item is on disk before its call returns, and leaves
    the spool only once tradebook acknowledged it; a bot restarted on the same spool sends
    what was left.

    Network errors, timeouts, 429 and 5xx are retried (the same request, with capped
    exponential backoff and jitter, honouring Retry-After), forever unless `max_retries` is
    set. Items tradebook refuses (400, 404, 409) are never retried and never dropped: they
    are set aside (`rejected()`), logged, and the rest of their batch is sent.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        account: Optional[str] = None,
        spool: Union[str, os.PathLike[str], None] = None,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        timeout: float = 10.0,
        bot: Optional[str] = None,
        max_retries: Optional[int] = None,
        backoff: float = 0.2,
        max_backoff: float = 30.0,
        read_retries: int = 5,
        exit_timeout: float = 10.0,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if flush_interval <= 0:
            raise ValueError("flush_interval must be positive")
        self.url = url.rstrip("/")
        self.account = account
        self.bot = bot
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.read_retries = read_retries
        self.exit_timeout = exit_timeout
        agent = f"tradebook-client/{__version__}"
        self._sender = Transport(url, token, timeout=timeout, user_agent=agent)
        self._reader = Transport(url, token, timeout=timeout, user_agent=agent)
        self._queue = Spool(spool) if spool else MemoryQueue()
        self._send_lock = threading.Lock()  # one request in flight: batches arrive in the order queued
        self._read_lock = threading.Lock()
        self._wake = threading.Condition()
        self._limit = batch_size  # halved while tradebook answers 413 (a batch too large)
        self._failures = 0  # requests failed in a row, for the backoff
        self._retry_at = 0.0  # monotonic time before which no request is sent (backoff, Retry-After)
        self._oldest: Optional[float] = time.monotonic() - flush_interval if len(self._queue) else None
        self._closed = False
        self._stopping = False
        self._flushing = 0  # flush() calls under way: the background thread leaves the sending to them
        self._slug: Optional[str] = account
        self._last_result: Optional[FlushResult] = None
        self._thread = threading.Thread(target=self._run, name="tradebook-client-sender", daemon=True)
        self._thread.start()
        _live.add(self)
        if len(self._queue):
            log.info("tradebook client: %d items left in the spool %s are being sent", len(self._queue), spool)

    # --- queueing -----------------------------------------------------------------------

    def fill(self, **item: Any) -> Dict[str, Any]:
        """An execution: id, symbol, side (buy/sell), price, quantity, executed_at; fee, fee_currency,
        fees, order_id, trade_id, is_maker, reported_pnl, reason, source, bot."""
        return self._add("fill", item)

    def order(self, **item: Any) -> Dict[str, Any]:
        """An order's state: id, symbol, side, status, updated_at; order_type, price, quantity, …"""
        return self._add("order", item)

    def open_trade(self, **item: Any) -> Dict[str, Any]:
        """Open a trade: id, symbol, side (long/short), quantity, entry_price, entry_time; sl_price,
        tp_price, leverage, model, confidence, strategy, metadata, …"""
        return self._add("trade.open", item)

    def update_trade(self, id: str, **changes: Any) -> Dict[str, Any]:
        """Change an open trade's sl_price, tp_price, trail_percent, leverage, margin, confidence,
        regime or metadata (None clears SL/TP/trail)."""
        return self._add("trade.update", {"id": id, **changes})

    def close_trade(self, id: str, **item: Any) -> Dict[str, Any]:
        """Close a trade: exit_price, exit_time; close_reason, exit_fee, reported_pnl."""
        return self._add("trade.close", {"id": id, **item})

    def signal(self, **item: Any) -> Dict[str, Any]:
        """A strategy's call: symbol, value (1, 0, -1), generated_at; strength, strategy, metadata.
        Without an `id` the client gives it one, so a retry is not a second signal."""
        return self._add("signal", item)

    def position(self, **item: Any) -> Dict[str, Any]:
        """A position as reported: symbol, side (long/short/flat), size, exchange_ts; entry_price,
        mark_price, liq_price, unrealized_pnl, leverage."""
        return self._add("position", item)

    def wallet(self, **item: Any) -> Dict[str, Any]:
        """One coin's balance: coin, wallet_balance, exchange_ts; available_balance, equity."""
        return self._add("wallet", item)

    def equity(self, **item: Any) -> Dict[str, Any]:
        """An equity snapshot: equity, exchange_ts; cash, positions_value, positions_count, …"""
        return self._add("equity", item)

    def cashflow(self, **item: Any) -> Dict[str, Any]:
        """Money in or out: id, kind, amount (signed as it moves equity), currency, ts; symbol."""
        return self._add("cashflow", item)

    def mark(self, **item: Any) -> Dict[str, Any]:
        """A price to value open positions at: symbol, price, ts."""
        return self._add("mark", item)

    def log(self, message: str, level: str = "info", **extra: Any) -> Dict[str, Any]:
        """Free text for the audit trail, with its level; `ts` defaults to now."""
        item = {"message": message, "level": level, **extra}
        item.setdefault("ts", datetime.now(_items.UTC))
        return self._add("log", item)

    def fills(self, items: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
        """Queue many fills in one call (with a spool: one transaction, one fsync)."""
        return self.enqueue({**item, "type": "fill"} for item in items)

    def enqueue(self, items: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
        """Queue many items of any types, each with its `type` (fill, order, trade.open, …), in one
        call: all are checked first (an ItemError queues none), then written at once."""
        prepared = [self._prepare(item.get("type", ""), item) for item in items]
        if prepared:
            self._put([(item["type"], body) for item, body in prepared])
        return [item for item, _body in prepared]

    def _add(self, kind: str, item: Mapping[str, Any]) -> Dict[str, Any]:
        prepared, body = self._prepare(kind, item)
        self._put([(prepared["type"], body)])
        return prepared

    def _prepare(self, kind: str, item: Mapping[str, Any]) -> Tuple[Dict[str, Any], str]:
        if kind not in _items.TYPES and kind not in ("trade", "metric", "legacy.position"):
            raise ItemError("type", f"must be one of {', '.join(_items.TYPES)}, not {kind!r}")
        out = _items.normalize(kind, item)
        if kind in _items.NEEDS_CLIENT_ID and out.get("id") in (None, ""):
            out["id"] = _items.client_id()
        if self.account is not None and "account" not in out:
            out["account"] = self.account
        if self.bot is not None and "bot" not in out and "bot_id" not in out:
            out["bot"] = self.bot
        return out, _items.to_json(out)

    def _put(self, entries: Sequence[Tuple[str, str]]) -> None:
        if self._closed:
            raise ClientClosed("the client is closed")
        self._queue.put(entries)
        if self._oldest is None:
            self._oldest = time.monotonic()
        if len(self._queue) >= self._limit:
            with self._wake:
                self._wake.notify()

    # --- sending ------------------------------------------------------------------------

    def pending(self) -> int:
        """Items queued and not yet acknowledged (nor set aside)."""
        return len(self._queue)

    def flush(self, timeout: Optional[float] = None) -> FlushResult:
        """Send everything queued so far and wait for tradebook's answers.

        Returns a FlushResult: one Answer per request this call sent, the items set aside
        meanwhile, and totals (`created`, `duplicate`, `updated`, `sent`). Items the background
        thread sent before this call are not in it. Retries as the background thread does;
        raises Unavailable, leaving the items queued, once `timeout` seconds or `max_retries`
        retries have gone by."""
        if self._closed:
            raise ClientClosed("the client is closed (close() flushed it)")
        return self._drain(until=self._queue.last_seq(), timeout=timeout, max_retries=self.max_retries)

    def close(self, timeout: Optional[float] = None) -> FlushResult:
        """Flush, then stop the background thread and close the spool. Raises Unavailable when
        items could not be sent within `timeout` (with a spool they wait there for the next start;
        without one they are lost). Closing twice is harmless."""
        if self._closed:
            return self._last_result or FlushResult()
        self._closed = True
        _live.discard(self)
        try:
            result = self._drain(until=self._queue.last_seq(), timeout=timeout, max_retries=self.max_retries)
            self._last_result = result
            return result
        except Unavailable:
            left = len(self._queue)
            if self._queue.durable:
                log.warning("tradebook client: closed with %d items unsent; they stay in the spool", left)
            else:
                log.error("tradebook client: closed with %d items unsent and no spool: they are lost", left)
            raise
        finally:
            with self._wake:
                self._stopping = True
                self._wake.notify_all()
            self._thread.join(timeout=self._sender.timeout + 5)
            with self._send_lock:
                self._sender.close()
                self._queue.close()
            with self._read_lock:
                self._reader.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
            return
        try:
            self.close(timeout=self.exit_timeout)
        except TradebookError:
            log.exception("tradebook client: closing after an error failed")  # the first error wins

    def rejected(self) -> List[Rejected]:
        """Items tradebook refused, oldest first, each with its status and errors. Kept (in the
        spool's `rejected` table, or in memory) until `requeue_rejected` sends them again."""
        return self._queue.rejected()

    def requeue_rejected(self, ids: Optional[Iterable[int]] = None) -> int:
        """Queue rejected items again (all, or those whose `Rejected.id` is given), after the cause
        was mended on the server (e.g. the account created). Returns how many."""
        if self._closed:
            raise ClientClosed("the client is closed")
        moved = self._queue.requeue(ids)
        if moved and self._oldest is None:
            self._oldest = time.monotonic()
        return moved

    def _run(self) -> None:
        """The background sender: waits until a batch is full or the oldest item has waited
        `flush_interval`, then sends until the queue is empty."""
        while True:
            with self._wake:
                full_only = True
                while not self._stopping:
                    if self._flushing:
                        self._wake.wait()  # a flush sends meanwhile; it notifies when it ends
                        continue
                    queued = len(self._queue)
                    if queued >= self._limit:
                        break
                    if queued:
                        if self._oldest is None:  # queued while the last drain was ending
                            self._oldest = time.monotonic()
                        due = self._oldest + self.flush_interval - time.monotonic()
                        if due <= 0:
                            full_only = False
                            break
                        self._wake.wait(due)
                    else:
                        self._wake.wait(self.flush_interval)
                if self._stopping:
                    return
            try:
                # Woken by a full batch: send full batches, the rest waits for its interval.
                self._drain(until=None, timeout=None, max_retries=None, background=True, full_only=full_only)
            except Exception:  # noqa: BLE001 - the sender must outlive any one failure
                log.exception("tradebook client: the background sender failed; trying again")
                self._pause(self.max_backoff)

    def _pause(self, seconds: float) -> bool:
        """Sleep, or less if the client is stopping; True when it is."""
        with self._wake:
            if not self._stopping:
                self._wake.wait(seconds)
            return self._stopping

    def _drain(self, *, until: Optional[int], timeout: Optional[float], max_retries: Optional[int],
               background: bool = False, full_only: bool = False) -> FlushResult:
        if background:
            return self._drain_queue(until=until, timeout=timeout, max_retries=max_retries, background=True,
                                     full_only=full_only)
        with self._wake:
            self._flushing += 1
        try:
            return self._drain_queue(until=until, timeout=timeout, max_retries=max_retries)
        finally:
            with self._wake:
                self._flushing -= 1
                self._wake.notify()

    def _drain_queue(self, *, until: Optional[int], timeout: Optional[float], max_retries: Optional[int],
                     background: bool = False, full_only: bool = False) -> FlushResult:
        """Send batches from the head of the queue until it is empty (or holds only items queued
        after `until`). Retries failed requests; raises Unavailable past `timeout`/`max_retries`.

        The backoff is the client's, not the caller's: a flush and the background thread both
        wait for `_retry_at`, so neither sends before the Retry-After the other was given."""
        result = FlushResult()
        deadline = None if timeout is None else time.monotonic() + timeout
        failures = 0  # this call's, for max_retries
        while True:
            wait = self._retry_at - time.monotonic()
            if wait > 0:
                if deadline is not None and time.monotonic() + wait > deadline:
                    raise Unavailable(f"tradebook not reached within the timeout; {len(self._queue)} items queued")
                if background:
                    if self._pause(wait):
                        break
                else:
                    time.sleep(wait)
                continue
            with self._send_lock:
                if background and (self._closed or self._flushing):
                    break  # close() or flush() takes over: its answers are all in its result
                if self._retry_at > time.monotonic():
                    continue  # the other sender failed meanwhile
                batch = self._queue.head(self._limit)
                if not batch or (until is not None and batch[0].seq > until) or (full_only and len(batch) < self._limit):
                    if not len(self._queue):
                        self._oldest = None
                    break
                outcome, retry_after = self._send(batch, result)
                if outcome == _RETRY:
                    self._failures += 1
                    self._retry_at = time.monotonic() + self._delay(self._failures, retry_after)
                else:
                    self._failures = 0
            if outcome == _RETRY:
                failures += 1
                if max_retries is not None and failures > max_retries:
                    raise Unavailable(f"tradebook not reached after {failures} tries; {len(self._queue)} items queued")
        self._queue.settle()
        result.pending = len(self._queue)
        return result

    def _delay(self, failures: int, retry_after: Optional[float]) -> float:
        """Capped exponential backoff with jitter; at least what Retry-After asks."""
        ceiling = min(self.max_backoff, self.backoff * (2 ** min(failures - 1, 30)))
        delay = random.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_backoff * 10))
        return delay

    def _send(self, batch: List[Entry], result: FlushResult) -> Tuple[str, Optional[float]]:
        """One request with `batch`; acknowledges, sets aside or reports a retry."""
        body = ("[" + ",".join(entry.body for entry in batch) + "]").encode("utf-8")
        try:
            response = self._sender.request("POST", EVENTS, body)
        except NETWORK_ERRORS as exc:
            log.warning("tradebook client: %d items not sent (%s: %s); retrying", len(batch), type(exc).__name__, exc)
            return _RETRY, None
        status = response.status
        if 200 <= status < 300:
            self._queue.remove(batch)
            answer = _answer(response, len(batch))
            result.answers.append(answer)
            for warning in answer.warnings:
                index = warning.get("index")
                entry = batch[index] if isinstance(index, int) and 0 <= index < len(batch) else None
                # A log's id is the client's own (so a retry is the same line): not the bot's typo.
                level = logging.DEBUG if entry is not None and entry.type == "log" and warning.get("field") == "id" \
                    else logging.WARNING
                log.log(level, "tradebook client: %s: %s: %s", _describe(entry) if entry else "an item",
                        warning.get("field"), warning.get("message"))
            if self._limit < self.batch_size:
                self._limit = min(self.batch_size, self._limit * 2)
            return _OK, None
        if status == 429 or status >= 500:
            log.warning("tradebook client: %d items not accepted (%d%s); retrying", len(batch), status,
                        _brief(response))
            return _RETRY, response.retry_after()
        errors = _errors(response)
        by_index: Dict[int, List[Dict[str, Any]]] = {}
        for error in errors:
            index = error.get("index")
            if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(batch):
                by_index.setdefault(index, []).append(error)
        if status in REFUSED and by_index:
            refused = [(batch[i], status, by_index[i]) for i in sorted(by_index)]
            for rejected in self._queue.set_aside(refused):
                result.rejected.append(rejected)
                log.error("tradebook client: %s refused (%d), set aside: %s", _describe_item(rejected.type, rejected.item),
                          status, "; ".join(f"{e.get('field')}: {e.get('message')}" for e in rejected.errors))
            return _AGAIN, None
        if status == 409:
            # A conflict of the request as a whole (concurrent writes of the same keys): tradebook
            # asks for it again.
            log.warning("tradebook client: %d items answered 409%s; retrying", len(batch), _brief(response))
            return _RETRY, response.retry_after()
        if status in (400, 413, 422):
            if len(batch) > 1:
                # The request as a whole was refused: halve it until the item at fault stands alone.
                self._limit = max(1, len(batch) // 2)
                return _AGAIN, None
            for rejected in self._queue.set_aside([(batch[0], status, errors)]):
                result.rejected.append(rejected)
                log.error("tradebook client: %s refused (%d), set aside%s", _describe(batch[0]), status,
                          _brief(response))
            return _AGAIN, None
        # 401, 403, a 404 naming no item, 405…: the token or the URL is wrong, not the items. They are
        # kept and the request retried, loudly, until the configuration is mended.
        log.error("tradebook client: %d items not accepted (%d%s): check the url and the token; retrying",
                  len(batch), status, _brief(response))
        return _RETRY, response.retry_after()

    # --- reading ------------------------------------------------------------------------

    def open_trades(self, symbol: Optional[str] = None) -> List[Trade]:
        """The account's open trades (GET /api/v1/trades/?status=open), newest entry first —
        what a bot reads on restart. Sends what is queued first."""
        self._flush_before_read()
        params: Dict[str, str] = {"status": "open", "page_size": "1000"}
        if symbol is not None:
            params["symbol"] = symbol
        if self.account is not None:
            params["account"] = self.account
        return [Trade.from_json(row) for row in self._pages("/api/v1/trades/", params)]

    def trade(self, id: str) -> Trade:
        """One trade by its id (GET /api/v1/trades/{id}/)."""
        self._flush_before_read()
        params = {"account": self.account} if self.account is not None else {}
        return Trade.from_json(self._get(f"/api/v1/trades/{_quote(id)}/", params))

    def positions(self) -> List[Position]:
        """Positions computed from the fills (GET /api/v1/accounts/{slug}/positions/)."""
        self._flush_before_read()
        answer = self._get(f"/api/v1/accounts/{_quote(self.account_slug())}/positions/")
        return [Position.from_json(row) for row in answer.get("results", [])]

    def summary(self) -> Summary:
        """The account's figures (GET /api/v1/accounts/{slug}/summary/)."""
        self._flush_before_read()
        return Summary.from_json(self._get(f"/api/v1/accounts/{_quote(self.account_slug())}/summary/"))

    def account_slug(self) -> str:
        """The `account` given, else the token's only account (GET /api/v1/accounts/)."""
        if self._slug is None:
            accounts = list(self._pages("/api/v1/accounts/", {}))
            if len(accounts) != 1:
                names = ", ".join(a.get("slug", "?") for a in accounts) or "none"
                raise TradebookError(f"this token has {len(accounts)} accounts ({names}): pass account=")
            self._slug = accounts[0]["slug"]
        return self._slug

    def get(self, path: str, params: Optional[Mapping[str, Any]] = None) -> Any:
        """GET any API path (e.g. "/api/v1/fills/"), JSON with exact decimals; 4xx raises ApiError."""
        return self._get(path, params)

    def pages(self, path: str, params: Optional[Mapping[str, Any]] = None) -> Iterator[Dict[str, Any]]:
        """Every row of a paginated list, following its `next` links."""
        return self._pages(path, params or {})

    def _flush_before_read(self) -> None:
        if not self._closed and len(self._queue):
            self._drain(until=self._queue.last_seq(), timeout=None,
                        max_retries=self.read_retries if self.max_retries is None else self.max_retries)

    def _pages(self, path: str, params: Mapping[str, Any]) -> Iterator[Dict[str, Any]]:
        query = urlencode({k: v for k, v in params.items() if v is not None})
        while True:
            page = self._get(path + ("?" + query if query else ""))
            yield from page.get("results", [])
            link = page.get("next")
            if not link:
                return
            path, query = split_url(link)

    def _get(self, path: str, params: Optional[Mapping[str, Any]] = None) -> Any:
        if params:
            query = urlencode({k: v for k, v in params.items() if v is not None})
            path = path + ("&" if "?" in path else "?") + query
        failures = 0
        while True:
            wait: Optional[float] = None
            try:
                with self._read_lock:
                    response = self._reader.request("GET", path)
            except NETWORK_ERRORS as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if 200 <= response.status < 300:
                    return _items.loads(response.body)
                if response.status != 429 and response.status < 500:
                    raise ApiError(response.status, _errors(response), method="GET", path=path)
                problem, wait = f"{response.status}{_brief(response)}", response.retry_after()
            failures += 1
            if failures > self.read_retries:
                raise Unavailable(f"GET {path}: {problem} ({failures} tries)")
            time.sleep(self._delay(failures, wait))


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(str(value), safe="")


def _answer(response: Response, items: int) -> Answer:
    try:
        data = _items.loads(response.body) if response.body else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    return Answer(status=response.status, items=items, results=data.get("results") or [],
                  counts=data.get("counts") or {}, warnings=data.get("warnings") or [])


def _errors(response: Response) -> List[Dict[str, Any]]:
    try:
        data = _items.loads(response.body)
        errors = data.get("errors") if isinstance(data, dict) else None
        if isinstance(errors, list) and all(isinstance(e, dict) for e in errors):
            return errors
        detail = data.get("detail") if isinstance(data, dict) else None
        if detail:
            return [{"index": None, "field": None, "message": str(detail)}]
    except ValueError:
        pass
    text = response.body[:300].decode("utf-8", "replace").strip()
    return [{"index": None, "field": None, "message": text or f"HTTP {response.status}"}]


def _brief(response: Response) -> str:
    errors = _errors(response)
    return ": " + "; ".join(str(e.get("message")) for e in errors[:3]) if errors else ""


def _describe(entry: Entry) -> str:
    try:
        return _describe_item(entry.type, _items.loads(entry.body))
    except ValueError:
        return entry.type


def _describe_item(kind: str, item: Mapping[str, Any]) -> str:
    key = item.get("id")
    symbol = item.get("symbol")
    return f"{kind} {key!r}" + (f" ({symbol})" if symbol else "") if key is not None else kind
