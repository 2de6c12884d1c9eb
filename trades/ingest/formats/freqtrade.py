"""Rows of a freqtrade database → canonical items: what the bot meant (SPEC 8). Pure: no I/O.

freqtrade keeps one `trades` row per round trip and one `orders` row per order sent
for it (`trades/sources/freqtrade.py` reads them). freqtrade's own books are in its
`recalc_trade_from_orders`: a trade is the sum of its orders that are closed on
freqtrade's side and filled (`not ft_is_open and filled`); an order counts for
`filled − ft_fee_base` (the fee freqtrade saw taken in the base coin) at its
`average or price or stop_price or ft_price`. The items follow the same orders:

- each such order is a **fill** (`ft-order-<order_id>`): its quantity net of a base-coin fee,
  its own fee — the base-coin fee itself where freqtrade took it there (`ft_fee_base`, fee
  currency the base coin), else freqtrade's fee rate for that side (`fee_open` for entries,
  `fee_close` for exits) × filled × price, in the stake currency. freqtrade charges fees on
  the notional (amount × price) in its profit, leverage or not, so the fills do too;
- an order's **funding** (`funding_fee`, what the position paid or received since the
  order before it, as freqtrade assigns it) is a `funding` **cash flow**
  (`ft-funding-<pair>-<order_id>`), signed as freqtrade signs it (received > 0);
- a **closed** trade is a `trade.open` + `trade.close` (`ft-<id>`): quantity = what it
  entered (Σ entry orders), entry and exit prices the quantity-weighted averages of its
  entry and exit orders, entry and exit fee the sums of its fills' fees (a base-coin fee
  valued at its order's price), leverage, and as `margin` the stake freqtrade committed —
  the entries' notional ÷ leverage (freqtrade's `max_stake_amount`); freqtrade's own
  columns go in the trade's `metadata`, its `close_profit_abs` is the reported PnL.
  An **open** trade is booked by its fills only: freqtrade may add entries to an open
  trade at any time (position adjustment), and a trade is opened once — so its
  `trade.open` waits until its entries are final, when freqtrade closes it.

How tradebook's figures meet freqtrade's `close_profit_abs` for a closed trade:

    trade pnl + the funding of its orders == close_profit_abs

exactly (to freqtrade's rounding of each exit's profit to 8 places), with one convention
difference: where freqtrade took the entry fee in the base coin, it still charges its fee
rate on the entry's net value in its profit (`fee_open` × (filled − fee) × price), while
tradebook books the coin it took (the fee × the order's price in the trade's entry fee, the
coin itself in the fill's fees). In the test database (2 BNB bought at 300, 0.002 BNB fee)
that is 0.5994 USDT against 0.6: tradebook's PnL is 0.0006 lower. The account's summary
values a fee in another coin at that coin's newest price (SPEC 5), so there the same fee
moves with BNB. Funding stays out of the trade's PnL and in the account's `funding`; the
account's `net_pnl` (realized − fees + funding) of closed trades is Σ close_profit_abs.
Margin trades' borrowing interest (freqtrade's `interest_rate`, charged in its profit and
kept nowhere as an amount) is not booked.

A database without an `orders` table (freqtrade before 2022) gives each trade one entry
and one exit fill at the trade's own rates and amount.

Keys derive from freqtrade's own ids, so a re-read books nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, localcontext

from core.amounts import AMOUNT_CONTEXT, AMOUNT_QUANTUM, decimal_str, parse_amount
from core.errors import BadValue, TradebookError

TRADE_PREFIX = "ft-"
ORDER_PREFIX = "ft-order-"
FUNDING_PREFIX = "ft-funding-"
ORDER_SIDES = {"buy", "sell", "stoploss"}
ZERO = Decimal(0)

# freqtrade's trade columns kept in a closed trade's metadata (those the database has): what says how
# freqtrade saw the trade. The rest is in its fills (fees, amounts) or the trade's own fields.
METADATA_COLUMNS = ("exchange", "enter_tag", "timeframe", "trading_mode", "stake_amount", "max_stake_amount",
                    "close_profit", "close_profit_abs", "realized_profit", "funding_fees", "liquidation_price",
                    "initial_stop_loss")


@dataclass
class TradeItems:
    """One freqtrade trade's items, in the order they are booked."""

    trade_id: int
    items: list[dict] = field(default_factory=list)


def trade_key(trade_id) -> str:
    return f"{TRADE_PREFIX}{trade_id}"


def translate(trades: Iterable[dict], orders: Iterable[dict] | None, *,
              bot: str | None = None) -> list[TradeItems]:
    """Every trade's items (all or nothing): raises TradebookError naming each bad trade
    (`index`: its position in `trades`; `field`: the column). `orders` None means the
    database has no orders table."""
    by_trade = group_orders(orders)
    out: list[TradeItems] = []
    errors: list[dict] = []
    for index, trade in enumerate(trades):
        try:
            out.append(translate_trade(trade, None if by_trade is None else by_trade.get(trade.get("id"), []),
                                       bot=bot))
        except BadValue as exc:
            field_name, message = exc.args if len(exc.args) == 2 else (None, str(exc))
            errors.append({"index": index, "field": field_name, "message": f"trade {trade.get('id')}: {message}"})
    if errors:
        raise TradebookError(errors)
    return out


def group_orders(orders: Iterable[dict] | None) -> dict | None:
    if orders is None:
        return None
    by_trade: dict = {}
    for order in orders:
        by_trade.setdefault(order.get("ft_trade_id"), []).append(order)
    return by_trade


def translate_trade(t: dict, orders: list[dict] | None, *, bot: str | None = None) -> TradeItems:
    """One trade and its orders (None: the database has no orders table) → its items.
    Raises BadValue(column, message)."""
    if t.get("id") is None:
        raise BadValue("id", "is empty")
    pair = t.get("pair") or ""
    if not pair:
        raise BadValue("pair", "is empty")
    bot = bot or (f"freqtrade:{t['strategy']}" if t.get("strategy") else None)
    trade = _Trade(t, bot)
    if orders is None:
        return trade.without_orders()
    # freqtrade's order of orders is their row id: the order they were sent in.
    for order in sorted(orders, key=lambda o: o.get("id") or 0):
        if order.get("ft_order_side") in ORDER_SIDES and not _flag(order.get("ft_is_open")):
            trade.add_order(order)
    return trade.finish()


class _Trade:
    def __init__(self, t: dict, bot: str | None):
        self.t = t
        self.bot = bot
        self.key = trade_key(t["id"])
        self.pair = t["pair"]
        self.short = _flag(t.get("is_short"))
        self.entry_side = "sell" if self.short else "buy"
        self.exit_side = "buy" if self.short else "sell"
        base, quote = _split_pair(self.pair)
        self.base = t.get("base_currency") or base
        self.stake = t.get("stake_currency") or quote
        self.fee_open = _amount(t, "fee_open") or ZERO
        self.fee_close = _amount(t, "fee_close")
        if self.fee_close is None:
            self.fee_close = self.fee_open
        self.leverage = _amount(t, "leverage") or Decimal(1)
        self.fills: list[dict] = []
        self.cash_flows: list[dict] = []
        self.entered = self.entry_cost = self.entry_fee = ZERO
        self.exited = self.exit_value = self.exit_fee = ZERO
        self.first_order_id: str | None = None
        self.last_fill_time = None

    # -- orders --------------------------------------------------------------------------------

    def add_order(self, o: dict) -> None:
        filled = _amount(o, "filled", where=o)
        if not filled or filled <= 0:
            return
        price = _first_amount(o, ("average", "price", "stop_price", "ft_price"))
        if price is None or price <= 0:
            raise BadValue("orders.average", f"order {o.get('order_id')!r} is filled but has no price")
        fee_base = _amount(o, "ft_fee_base", where=o) or ZERO
        quantity = filled - fee_base
        if quantity <= 0:
            return  # freqtrade skips it too (its amount after fee is not positive)
        entering = o.get("ft_order_side") == self.entry_side
        order_id = str(o.get("order_id") or f"{self.key}-{o.get('id')}")
        when = _time(o.get("order_filled_date") or o.get("order_update_date") or o.get("order_date")
                     or self.t.get("open_date"))
        item = {"type": "fill", "id": f"{ORDER_PREFIX}{order_id}", "symbol": self.pair,
                "side": self.entry_side if entering else self.exit_side, "price": price, "quantity": quantity,
                "executed_at": when, "order_id": order_id, "trade_id": self.key, "source": "import",
                "reason": o.get("ft_order_tag") or ("entry" if entering else
                                                    "stoploss" if o.get("ft_order_side") == "stoploss" else "exit")}
        with localcontext(AMOUNT_CONTEXT):
            if fee_base:
                item["fees"] = [{"amount": fee_base, "currency": self.base}]
                fee_value = _q(fee_base * price)  # in the stake currency, for the trade's fees
            else:
                fee_value = _q((self.fee_open if entering else self.fee_close) * filled * price)
                item["fee"] = fee_value
                item["fee_currency"] = self.stake
            if entering:
                self.entered += quantity
                self.entry_cost += quantity * price
                self.entry_fee += fee_value
                self.first_order_id = self.first_order_id or order_id
            else:
                self.exited += quantity
                self.exit_value += quantity * price
                self.exit_fee += fee_value
        item["meta"] = _kept(o, ("order_type", "id"), rename={"id": "freqtrade_order"})
        if self.bot:
            item["bot"] = self.bot
        self.fills.append(item)
        self.last_fill_time = when
        funding = _amount(o, "funding_fee", where=o)
        if funding and o.get("ft_order_side") != "stoploss":
            flow = {"type": "cashflow", "id": f"{FUNDING_PREFIX}{self.pair}-{order_id}", "kind": "funding",
                    "amount": funding, "currency": self.stake, "symbol": self.pair, "ts": when,
                    "meta": {"freqtrade_trade": self.t["id"], "order_id": order_id}}
            if self.bot:
                flow["bot"] = self.bot
            self.cash_flows.append(flow)

    def finish(self) -> TradeItems:
        out = TradeItems(self.t["id"], [*self.fills, *self.cash_flows])
        if self.closed() and self.entered > 0 and self.exited > 0:
            with localcontext(AMOUNT_CONTEXT):
                opening = self.opening(self.entered, _q(self.entry_cost / self.entered), self.entry_fee,
                                       _q(self.entry_cost / self.leverage))
                closing = self.closing(_q(self.exit_value / self.exited), self.exit_fee)
            out.items = [opening, *out.items, closing]
        return out

    def closed(self) -> bool:
        return not _flag(self.t.get("is_open")) and bool(self.t.get("close_date"))

    # -- the trade -------------------------------------------------------------------------------

    def opening(self, quantity: Decimal, entry_price: Decimal, entry_fee: Decimal, margin: Decimal | None) -> dict:
        t = self.t
        item = {"type": "trade.open", "id": self.key, "symbol": self.pair, "side": "short" if self.short else "long",
                "quantity": quantity, "entry_price": entry_price, "entry_time": _time(t.get("open_date")),
                "entry_fee": entry_fee, "leverage": self.leverage,
                "metadata": {"freqtrade_id": t["id"],
                             **{c: _plain(v) for c in METADATA_COLUMNS if (v := t.get(c)) not in (None, "")}}}
        if item["entry_time"] is None:
            raise BadValue("open_date", "is empty")
        if margin is not None:
            item["margin"] = margin
        stop = _amount(t, "stop_loss")
        if stop is not None and stop > 0:
            item["sl_price"] = stop
        if t.get("strategy"):
            item["strategy"] = t["strategy"]
        if self.first_order_id:
            item["order_id"] = self.first_order_id
        if self.bot:
            item["bot"] = self.bot
        return item

    def closing(self, exit_price: Decimal, exit_fee: Decimal) -> dict:
        t = self.t
        item = {"type": "trade.close", "id": self.key, "exit_price": exit_price,
                "exit_time": _time(t.get("close_date")) or self.last_fill_time, "exit_fee": exit_fee}
        reason = t.get("exit_reason") or t.get("sell_reason")
        if reason:
            item["close_reason"] = reason
        profit = _amount(t, "close_profit_abs")
        if profit is not None:
            item["reported_pnl"] = profit
        if self.bot:
            item["bot"] = self.bot
        return item

    def without_orders(self) -> TradeItems:
        """freqtrade before its orders table: the trade's own amount and rates are its fills."""
        t = self.t
        amount, open_rate = _amount(t, "amount"), _amount(t, "open_rate")
        if amount is None or amount <= 0 or open_rate is None or open_rate <= 0:
            raise BadValue("amount" if amount is None or amount <= 0 else "open_rate", "is empty")
        opened = _time(t.get("open_date"))
        with localcontext(AMOUNT_CONTEXT):
            entry_fee = _q(self.fee_open * amount * open_rate)
        items = [self._synthetic("open", self.entry_side, open_rate, amount, opened, entry_fee)]
        close_rate = _amount(t, "close_rate")
        if self.closed() and close_rate:
            with localcontext(AMOUNT_CONTEXT):
                exit_fee = _q(self.fee_close * amount * close_rate)
                margin = _q(amount * open_rate / self.leverage)
            items.append(self._synthetic("close", self.exit_side, close_rate, amount, _time(t.get("close_date")),
                                         exit_fee))
            items = [self.opening(amount, open_rate, entry_fee, margin), *items, self.closing(close_rate, exit_fee)]
        return TradeItems(t["id"], items)

    def _synthetic(self, leg: str, side: str, price: Decimal, quantity: Decimal, when, fee: Decimal) -> dict:
        item = {"type": "fill", "id": f"{self.key}-{leg}", "symbol": self.pair, "side": side, "price": price,
                "quantity": quantity, "executed_at": when, "trade_id": self.key, "source": "import",
                "fee": fee, "fee_currency": self.stake,
                "reason": "entry" if leg == "open" else (self.t.get("exit_reason") or self.t.get("sell_reason")
                                                         or "exit")}
        if self.bot:
            item["bot"] = self.bot
        return item


# -- values as freqtrade stores them ----------------------------------------------------------------

def _flag(value) -> bool:
    """A boolean column: SQLite gives 0/1, PostgreSQL True/False."""
    return bool(value) and value not in ("0", "false", "False")


def _amount(row: dict, column: str, *, where: dict | None = None) -> Decimal | None:
    value = row.get(column)
    if value is None or value == "":
        return None
    try:
        # Floats (freqtrade's columns are all Float): their shortest repr is what freqtrade stored.
        return parse_amount(repr(value) if isinstance(value, float) else value)
    except BadValue as exc:
        name = f"orders.{column}" if where is not None else column
        raise BadValue(name, f"{value!r}: {exc}")


def _first_amount(row: dict, columns: tuple[str, ...]) -> Decimal | None:
    for column in columns:
        value = _amount(row, column, where=row)
        if value:
            return value
    return None


def _q(value: Decimal) -> Decimal:
    """To numeric(38,18): an average or a fee rate × value may have more places."""
    return value.quantize(AMOUNT_QUANTUM, context=AMOUNT_CONTEXT)


def _time(value) -> str | None:
    """freqtrade keeps naive UTC times: SQLite as text, PostgreSQL as timestamp without time zone."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        value = value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat() + "Z"
    return str(value)


def _plain(value):
    """A metadata value as JSON keeps it exactly: floats by their shortest text."""
    if isinstance(value, float):
        return decimal_str(Decimal(repr(value)))
    if isinstance(value, Decimal):
        return decimal_str(value)
    if isinstance(value, datetime):
        return _time(value)
    return value


def _kept(row: dict, columns: tuple[str, ...], *, rename: dict[str, str]) -> dict:
    return {rename.get(c, c): _plain(row[c]) for c in columns if row.get(c) not in (None, "")}


def _split_pair(pair: str) -> tuple[str, str]:
    """BTC/USDT → (BTC, USDT); BTC/USDT:USDT → (BTC, USDT)."""
    base, _, rest = pair.partition("/")
    return base, rest.split(":", 1)[0]
