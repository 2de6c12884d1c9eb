"""Drop-in stores for bots written against the older in-house stores.

`EventStore(client, bot_id)` replaces the JSONL event store (`events.jsonl`): its
`append_*` post the very lines it used to write, which tradebook takes as they are;
`get_events` reads them back from tradebook's journal.

`TradeStore(client)` replaces the trade store: trades are opened, read back and closed
in tradebook, so a restarted bot recovers its open trades from the server.

Both write through the client's queue (and spool, if it has one); reads first send what
is queued, so a store reads its own writes.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from itertools import islice
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from ._client import Client
from ._items import UTC, _json_default
from .models import Trade

# The older line types and the journal types tradebook files them under (SPEC 8).
JOURNAL_TYPES = {"trade": "fill", "metric": "equity", "position": "position"}
LEGACY_TYPES = {"fill": "trade", "equity": "metric"}  # the way back, for what get_events returns
# Where each journal type keeps its time (what a line's `timestamp` became).
TIME_FIELDS = {"fill": "executed_at", "order": "updated_at", "trade.open": "entry_time", "trade.close": "exit_time",
               "signal": "generated_at", "position": "exchange_ts", "wallet": "exchange_ts",
               "equity": "exchange_ts", "cashflow": "ts", "mark": "ts", "log": "ts"}


def _now() -> datetime:
    return datetime.now(UTC)


def _line(given: Any, named: Mapping[str, Any], extra: Mapping[str, Any]) -> Dict[str, Any]:
    """The fields of one line: a mapping given as the first argument, then the keywords."""
    fields: Dict[str, Any] = dict(given) if isinstance(given, Mapping) else {}
    for name, value in named.items():
        if value is not None:
            fields[name] = value
    fields.update(extra)
    return {name: value for name, value in fields.items() if value is not None}


class EventStore:
    """The JSONL event store's interface, backed by tradebook.

    Each `append_*` queues one line of the older format, with this store's `bot_id` and a
    `timestamp` (now, unless given); tradebook books `trade` lines as fills (`commission`:
    the fee in the account's base currency, `pnl`: the reported PnL; the fill's key is derived
    from its content, so the same line twice is one fill), `metric` lines as equity snapshots
    and `position` lines as position snapshots."""

    def __init__(self, client: Client, bot_id: str) -> None:
        self.client = client
        self.bot_id = bot_id

    def _append(self, kind: str, fields: Dict[str, Any]) -> Dict[str, Any]:
        fields.pop("type", None)
        line = {"bot_id": self.bot_id, **fields}
        line.setdefault("timestamp", _now())
        return self.client._add(kind, line)

    def append_trade(self, symbol: Any = None, side: Optional[str] = None, price: Any = None, quantity: Any = None,
                     commission: Any = None, pnl: Any = None, timestamp: Any = None, **extra: Any) -> Dict[str, Any]:
        """A `trade` line (a fill): symbol, side, price, quantity, commission, pnl, timestamp.
        The fields may also come as one mapping: `append_trade({"symbol": …, …})`."""
        named = {"symbol": None if isinstance(symbol, Mapping) else symbol, "side": side, "price": price,
                 "quantity": quantity, "commission": commission, "pnl": pnl, "timestamp": timestamp}
        return self._append("trade", _line(symbol, named, extra))

    def append_metric(self, equity: Any = None, cash: Any = None, positions_value: Any = None,
                      positions_count: Any = None, total_trades: Any = None, initial_capital: Any = None,
                      returns_pct: Any = None, timestamp: Any = None, **extra: Any) -> Dict[str, Any]:
        """A `metric` line (an equity snapshot): equity, cash, positions_value, positions_count,
        total_trades, initial_capital, returns_pct, timestamp (or one mapping of them)."""
        named = {"equity": None if isinstance(equity, Mapping) else equity, "cash": cash,
                 "positions_value": positions_value, "positions_count": positions_count,
                 "total_trades": total_trades, "initial_capital": initial_capital, "returns_pct": returns_pct,
                 "timestamp": timestamp}
        return self._append("metric", _line(equity, named, extra))

    def append_position(self, symbol: Any = None, quantity: Any = None, entry_price: Any = None,
                        current_price: Any = None, unrealized_pnl: Any = None, timestamp: Any = None,
                        **extra: Any) -> Dict[str, Any]:
        """A `position` line: symbol, quantity (signed: short is negative), entry_price,
        current_price, unrealized_pnl, timestamp (or one mapping of them)."""
        named = {"symbol": None if isinstance(symbol, Mapping) else symbol, "quantity": quantity,
                 "entry_price": entry_price, "current_price": current_price, "unrealized_pnl": unrealized_pnl,
                 "timestamp": timestamp}
        return self._append("legacy.position", _line(symbol, named, extra))

    def get_events(self, limit: int = 100, types: Union[None, str, Sequence[str]] = None) -> List[Dict[str, Any]]:
        """This bot's events from tradebook's journal, newest first, at most `limit`.

        `types` takes the older names (`trade`, `metric`, `position`) or journal types (`fill`,
        `equity`, `signal`, …); None means every type. Each event is the item as it was posted;
        one posted in the newer form gets the older names back — `type` `fill` → `trade`,
        `equity` → `metric`, plus `bot_id` and `timestamp` where it has none — so code reading
        the older lines reads these too. Amounts are as posted (the client posts exact decimal
        strings); JSON numbers come back as Decimal."""
        if limit <= 0:
            return []
        self.client._flush_before_read()
        params: Dict[str, Any] = {"bot": self.bot_id, "page_size": min(limit, 1000)}
        if self.client.account is not None:
            params["account"] = self.client.account
        wanted = None if types is None else {JOURNAL_TYPES.get(t, t) for t in ([types] if isinstance(types, str)
                                                                               else types)}
        if wanted is not None and len(wanted) == 1:
            params["type"] = next(iter(wanted))
        rows: Iterable[Dict[str, Any]] = self.client.pages("/api/v1/events/", params)
        if wanted is not None and len(wanted) > 1:
            # Several types: read the bot's journal in its own order (items posted in one request share
            # their received_at; only the journal knows which came last) and keep the wanted ones.
            rows = (row for row in rows if row.get("type") in wanted)
        return [_as_legacy(row) for row in islice(rows, limit)]


def _as_legacy(row: Mapping[str, Any]) -> Dict[str, Any]:
    raw = row.get("raw")
    event: Dict[str, Any] = dict(raw) if isinstance(raw, Mapping) else {"value": raw}
    journal_type = str(row.get("type") or event.get("type") or "")
    kind = str(event.get("type") or journal_type)
    event["type"] = LEGACY_TYPES.get(kind, kind)
    if "bot_id" not in event and event.get("bot") is not None:
        event["bot_id"] = event["bot"]
    if "timestamp" not in event:
        field = TIME_FIELDS.get(journal_type)
        if field and event.get(field) is not None:
            event["timestamp"] = event[field]
    return event


# --- trades ------------------------------------------------------------------------------

# The trade store's names (and common spellings) -> tradebook's trade.open fields.
_TRADE_NAMES = {
    "id": "id", "trade_id": "id",
    "symbol": "symbol",
    "side": "side", "direction": "side",
    "quantity": "quantity", "qty": "quantity", "size": "quantity", "amount": "quantity",
    "entry_price": "entry_price", "open_price": "entry_price",
    "entry_time": "entry_time", "open_time": "entry_time", "opened_at": "entry_time",
    "sl_price": "sl_price", "stop_loss": "sl_price",
    "tp_price": "tp_price", "take_profit": "tp_price",
    "trail_percent": "trail_percent", "leverage": "leverage", "margin": "margin",
    "strategy": "strategy", "model": "model", "confidence": "confidence", "regime": "regime",
    "order_id": "order_id", "entry_fee": "entry_fee", "entry_fee_usd": "entry_fee",
    "metadata": "metadata",
}
# A new trade's state and exit say nothing yet: not sent.
_NOT_SENT = {"status", "is_open", "exit_price", "exit_time", "close_reason", "exit_fee", "exit_fee_usd",
             "realized_pnl", "realized_pnl_usd", "pnl", "closed_at"}
_SIDES = {"long": "long", "buy": "long", "short": "short", "sell": "short"}


def _attributes(trade: Any) -> Dict[str, Any]:
    if isinstance(trade, Mapping):
        return dict(trade)
    if dataclasses.is_dataclass(trade) and not isinstance(trade, type):
        return {f.name: getattr(trade, f.name) for f in dataclasses.fields(trade)}
    found: Dict[str, Any] = {}
    for name in getattr(type(trade), "__slots__", ()):
        if hasattr(trade, name):
            found[name] = getattr(trade, name)
    found.update(getattr(trade, "__dict__", {}))
    for name in _TRADE_NAMES:  # properties and the like
        if name not in found and hasattr(trade, name):
            found[name] = getattr(trade, name)
    return {k: v for k, v in found.items() if not k.startswith("_") and not callable(v)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    try:
        return _json_default(value)
    except TypeError:
        return str(value)


class TradeStore:
    """The trade store's interface, backed by tradebook's trades (SPEC 4.1 trade.open/close)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def save_new_trade(self, trade: Any) -> str:
        """Open `trade` (a dict, a dataclass or any object with attributes) in tradebook; returns
        its id. Read: id or trade_id, symbol, side (long/short; buy/sell are taken as long/short),
        quantity (or qty/size/amount), entry_price, entry_time (default now); optional sl_price or
        stop_loss, tp_price or take_profit, leverage, margin, trail_percent, strategy, model,
        confidence, regime, order_id, entry_fee (or entry_fee_usd), metadata. Any other field
        goes into `metadata`. Saving the same trade again is a duplicate, not a second trade."""
        fields = _attributes(trade)
        item: Dict[str, Any] = {}
        metadata: Dict[str, Any] = {}
        for name, value in fields.items():
            if value is None or name in _NOT_SENT:
                continue
            target = _TRADE_NAMES.get(name)
            if target is None:
                metadata[name] = _jsonable(value)
            elif target not in item:
                item[target] = value
        if isinstance(item.get("side"), str):
            side = item["side"].strip().lower()
            item["side"] = _SIDES.get(side, side)
        if "metadata" in item:
            metadata = {**metadata, **_jsonable(item["metadata"])}
        if metadata:
            item["metadata"] = metadata
        item.setdefault("entry_time", _now())
        if item.get("id") is not None:
            item["id"] = str(item["id"])
        return str(self.client.open_trade(**item)["id"])

    def get_open_trades(self, symbol: Optional[str] = None) -> List[Trade]:
        """The open trades, from tradebook (so after a restart too), newest entry first. Each is a
        Trade, readable as attributes or as a mapping, with `trade_id`, `stop_loss` and
        `take_profit` as aliases of `id`, `sl_price` and `tp_price`."""
        return self.client.open_trades(symbol)

    def update_trade(self, trade_id: str, **changes: Any) -> Dict[str, Any]:
        """Change an open trade's sl_price/stop_loss, tp_price/take_profit, trail_percent, leverage,
        margin, confidence, regime or metadata."""
        renamed = {_TRADE_NAMES.get(k, k): v for k, v in changes.items()}
        return self.client.update_trade(str(trade_id), **renamed)

    def mark_trade_closed(self, trade_id: str, exit_price: Any, exit_time: Any = None, close_reason: str = "",
                          exit_fee_usd: Any = None, realized_pnl_usd: Any = None) -> Dict[str, Any]:
        """Close the trade: exit_price, exit_time (default now), close_reason; `exit_fee_usd` is
        posted as `exit_fee` and `realized_pnl_usd` as `reported_pnl` (tradebook computes its own
        PnL beside it). Closing again with the same exit is a duplicate."""
        item: Dict[str, Any] = {"exit_price": exit_price, "exit_time": exit_time if exit_time is not None else _now()}
        if close_reason:
            item["close_reason"] = close_reason
        if exit_fee_usd is not None:
            item["exit_fee"] = exit_fee_usd
        if realized_pnl_usd is not None:
            item["reported_pnl"] = realized_pnl_usd
        return self.client.close_trade(str(trade_id), **item)


__all__ = ["EventStore", "TradeStore", "JOURNAL_TYPES", "LEGACY_TYPES"]
