"""Plain dataclasses for what the client gives back: write answers, rejected items, and
what it reads (trades, positions, the account summary). Amounts are `Decimal`, times
aware UTC `datetime`s; every object keeps the JSON it was read from in `raw`, so a field
tradebook adds later is there before the client knows its name."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Dict, List, Mapping, Optional, Tuple, Type, TypeVar

from ._items import _parse_iso

T = TypeVar("T")


def _decimal(value: Any) -> Optional[Decimal]:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def _time(value: Any) -> Optional[datetime]:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    return _parse_iso(str(value), "time")


def _build(cls: Type[T], data: Mapping[str, Any], amounts: Tuple[str, ...], times: Tuple[str, ...]) -> T:
    """`cls` from an API object: amounts to Decimal, times to datetime, unknown keys only in `raw`."""
    values: Dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name == "raw" or f.name not in data:
            continue
        value = data[f.name]
        if f.name in amounts:
            value = _decimal(value)
        elif f.name in times:
            value = _time(value)
        values[f.name] = value
    return cls(raw=dict(data), **values)  # type: ignore[call-arg]


# --- writes ---------------------------------------------------------------------------


@dataclass
class Answer:
    """tradebook's answer to one write request (a batch of items).

    `results` are `{"index", "status", "id"}` per item in the order sent (`status`:
    created, duplicate or updated); `counts` sums them; `warnings` name fields tradebook
    did not know (kept in the item's `meta`), e.g. a typo such as `feee`."""

    status: int
    items: int
    results: List[Dict[str, Any]] = field(default_factory=list)
    counts: Dict[str, int] = field(default_factory=dict)
    warnings: List[Dict[str, Any]] = field(default_factory=list)


@dataclass
class Rejected:
    """An item tradebook refused (400, 404 or 409, or 413 alone): moved aside, never retried,
    never dropped. `errors` are tradebook's `{"index", "field", "message"}` for this item
    (`index` is its place in the request it was refused in)."""

    id: int  # its row in the spool's rejected table (or in memory)
    type: str
    item: Dict[str, Any]  # as it was sent
    status: int
    errors: List[Dict[str, Any]]
    rejected_at: datetime


@dataclass
class FlushResult:
    """What one `flush()` (or `close()`) sent: one `Answer` per request, the items set aside
    while it ran, and the totals. `pending` is what is still queued when it returned (items
    queued meanwhile)."""

    answers: List[Answer] = field(default_factory=list)
    rejected: List[Rejected] = field(default_factory=list)
    pending: int = 0

    @property
    def sent(self) -> int:
        """Items acknowledged (created, duplicate or updated)."""
        return sum(a.items for a in self.answers)

    def _count(self, name: str) -> int:
        return sum(int(a.counts.get(name, 0)) for a in self.answers)

    @property
    def created(self) -> int:
        return self._count("created")

    @property
    def duplicate(self) -> int:
        return self._count("duplicate")

    @property
    def updated(self) -> int:
        return self._count("updated")

    @property
    def warnings(self) -> List[Dict[str, Any]]:
        return [w for a in self.answers for w in a.warnings]

    @property
    def ok(self) -> bool:
        """True when nothing was refused."""
        return not self.rejected


# --- reads ----------------------------------------------------------------------------

TRADE_AMOUNTS = ("quantity", "entry_price", "entry_fee", "leverage", "margin", "sl_price", "tp_price",
                 "trail_percent", "confidence", "exit_price", "exit_fee", "reported_pnl", "pnl")
TRADE_TIMES = ("entry_time", "exit_time", "opened_at", "updated_at", "closed_at")


@dataclass
class Trade:
    """A trade as tradebook keeps it (GET /api/v1/trades/): its plan, and its exit once closed.

    Also readable like a mapping (`trade["symbol"]`, `trade.get("sl_price")`), with the
    older store's names as aliases: `trade_id`, `stop_loss`, `take_profit`."""

    id: str = ""
    account: Optional[str] = None
    bot: Optional[str] = None
    symbol: str = ""
    side: str = ""
    status: str = ""
    quantity: Optional[Decimal] = None
    entry_price: Optional[Decimal] = None
    entry_time: Optional[datetime] = None
    entry_fee: Optional[Decimal] = None
    leverage: Optional[Decimal] = None
    margin: Optional[Decimal] = None
    sl_price: Optional[Decimal] = None
    tp_price: Optional[Decimal] = None
    trail_percent: Optional[Decimal] = None
    model: Optional[str] = None
    confidence: Optional[Decimal] = None
    strategy: Optional[str] = None
    regime: Optional[str] = None
    order_id: Optional[str] = None
    metadata: Optional[Dict[str, Any]] = None
    exit_price: Optional[Decimal] = None
    exit_time: Optional[datetime] = None
    exit_fee: Optional[Decimal] = None
    close_reason: Optional[str] = None
    reported_pnl: Optional[Decimal] = None
    pnl: Optional[Decimal] = None
    meta: Optional[Dict[str, Any]] = None
    opened_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None
    closed_at: Optional[datetime] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Trade:
        return _build(cls, data, TRADE_AMOUNTS, TRADE_TIMES)

    @property
    def trade_id(self) -> str:
        return self.id

    @property
    def stop_loss(self) -> Optional[Decimal]:
        return self.sl_price

    @property
    def take_profit(self) -> Optional[Decimal]:
        return self.tp_price

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def __getitem__(self, name: str) -> Any:
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name)

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name, default)


@dataclass
class Position:
    """A position computed by tradebook from the fills (GET /api/v1/accounts/{slug}/positions/):
    signed `quantity`, `average_price`, `realized_pnl`, `fees`, the mark and its source
    (`mark`, `position` or `fill`) and `unrealized_pnl` at it."""

    symbol: str = ""
    quantity: Optional[Decimal] = None
    average_price: Optional[Decimal] = None
    realized_pnl: Optional[Decimal] = None
    fees: Optional[Decimal] = None
    unconverted_fees: Optional[Dict[str, Any]] = None
    mark_price: Optional[Decimal] = None
    mark_source: Optional[str] = None
    unrealized_pnl: Optional[Decimal] = None
    fills: Optional[int] = None
    last_fill_at: Optional[datetime] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Position:
        return _build(cls, data, ("quantity", "average_price", "realized_pnl", "fees", "mark_price",
                                  "unrealized_pnl"), ("last_fill_at",))


SUMMARY_AMOUNTS = ("equity", "cash", "realized_pnl", "unrealized_pnl", "fees", "funding", "net_pnl", "return_pct",
                   "win_rate", "profit_factor", "avg_win", "avg_loss", "expectancy", "max_drawdown", "sharpe",
                   "sortino")


@dataclass
class Summary:
    """The account's figures (GET /api/v1/accounts/{slug}/summary/, SPEC 5): equity, cash, PnL,
    fees, funding, time-weighted `return_pct`, trade statistics, `marks` and `reported` (the
    bot-reported figures beside the computed ones, with their `differences`). Percents are
    percents (`return_pct`, `win_rate`, `max_drawdown`)."""

    account: str = ""
    base_currency: Optional[str] = None
    as_of: Optional[datetime] = None
    equity: Optional[Decimal] = None
    cash: Optional[Decimal] = None
    realized_pnl: Optional[Decimal] = None
    unrealized_pnl: Optional[Decimal] = None
    fees: Optional[Decimal] = None
    funding: Optional[Decimal] = None
    net_pnl: Optional[Decimal] = None
    return_pct: Optional[Decimal] = None
    open_positions: Optional[int] = None
    fills: Optional[int] = None
    closed_trades: Optional[int] = None
    win_rate: Optional[Decimal] = None
    profit_factor: Optional[Decimal] = None
    avg_win: Optional[Decimal] = None
    avg_loss: Optional[Decimal] = None
    expectancy: Optional[Decimal] = None
    max_drawdown: Optional[Decimal] = None
    sharpe: Optional[Decimal] = None
    sortino: Optional[Decimal] = None
    marks: Dict[str, Any] = field(default_factory=dict)
    reported: Dict[str, Any] = field(default_factory=dict)
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Summary:
        summary = _build(cls, data, SUMMARY_AMOUNTS, ("as_of",))
        summary.marks = {symbol: _amounts(mark, ("price",)) for symbol, mark in (data.get("marks") or {}).items()}
        summary.reported = _amounts(data.get("reported") or {}, ("pnl", "tolerance"))
        return summary


def _amounts(data: Any, names: Tuple[str, ...]) -> Any:
    if not isinstance(data, Mapping):
        return data
    return {k: (_decimal(v) if k in names and isinstance(v, (str, int, Decimal)) else v) for k, v in data.items()}
