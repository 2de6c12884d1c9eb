"""A freqtrade database (tradesv3.sqlite) → canonical items.

freqtrade keeps a `trades` table (one row per round trip: pair, is_open, open_rate,
close_rate, amount, open_date, close_date, fee_open, fee_close, leverage, is_short,
exit_reason — `sell_reason` before 2022 —, strategy, stop_loss, …) and, since 2022,
an `orders` table (ft_trade_id, ft_order_side, order_id, side, average, filled,
order_filled_date, status, …). Each trade becomes a `trade.open` (and a
`trade.close` when closed); its filled orders become fills. A database without
orders gives one entry and one exit fill per trade, at the trade's rates, so the
books have something to follow. Keys derive from freqtrade's ids, so a re-import
adds nothing.

`load()` reads the file (sqlite3, read-only); `translate()` is pure.
"""

import sqlite3
from decimal import Decimal, localcontext
from pathlib import Path

from core.amounts import AMOUNT_CONTEXT, AMOUNT_QUANTUM, decimal_str, parse_amount
from core.errors import BadValue, TradebookError

TRADE_PREFIX = "ft-"
EXIT_ORDER_SIDES = {"buy", "sell", "stoploss"}

# freqtrade columns kept in the trade's metadata (where the database has them).
METADATA_COLUMNS = ("exchange", "stake_currency", "stake_amount", "enter_tag", "buy_tag", "timeframe",
                    "trading_mode", "close_profit", "close_profit_abs", "realized_profit", "funding_fees",
                    "liquidation_price", "initial_stop_loss", "max_rate", "min_rate")


def load(path: str | Path) -> tuple[list[dict], list[dict]]:
    """The rows of `trades` and (if present) `orders`, as dicts, oldest trade first."""
    path = Path(path)
    if not path.is_file():
        raise TradebookError(f"{path}: no such file")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise TradebookError(f"{path}: cannot open: {exc}")
    db.row_factory = sqlite3.Row
    try:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "trades" not in tables:
            raise TradebookError(f"{path}: not a freqtrade database (no 'trades' table)")
        trades = [dict(row) for row in db.execute("SELECT * FROM trades ORDER BY open_date, id")]
        orders = []
        if "orders" in tables:
            orders = [dict(row) for row in db.execute("SELECT * FROM orders ORDER BY id")]
    except sqlite3.DatabaseError as exc:
        raise TradebookError(f"{path}: not a readable sqlite database: {exc}")
    finally:
        db.close()
    return trades, orders


def translate(trades: list[dict], orders: list[dict], *, bot: str | None = None) -> tuple[list[dict], list]:
    """Rows of a freqtrade database → (canonical items, the freqtrade trade id of each item).

    Each trade gives its open, its fills, then its close. `bot` defaults to
    `freqtrade:<strategy>`. Raises TradebookError naming the trade (index = its
    position in `trades`, field = the column).
    """
    by_trade: dict = {}
    for order in orders:
        by_trade.setdefault(order.get("ft_trade_id"), []).append(order)
    items: list[dict] = []
    sources: list = []
    errors: list[dict] = []
    for index, trade in enumerate(trades):
        try:
            made = _trade(trade, by_trade.get(trade.get("id"), []),
                          bot or (f"freqtrade:{trade['strategy']}" if trade.get("strategy") else None))
            items.extend(made)
            sources.extend([trade.get("id")] * len(made))
        except BadValue as exc:
            field, message = exc.args if len(exc.args) == 2 else (None, str(exc))
            errors.append({"index": index, "field": field, "message": f"trade {trade.get('id')}: {message}"})
    if errors:
        raise TradebookError(errors)
    return items, sources


def trade_key(trade_id) -> str:
    return f"{TRADE_PREFIX}{trade_id}"


def _amount(row: dict, column: str) -> Decimal | None:
    value = row.get(column)
    if value is None or value == "":
        return None
    try:
        # sqlite gives REALs as floats: their shortest repr is what freqtrade stored.
        return parse_amount(repr(value) if isinstance(value, float) else value)
    except BadValue as exc:
        raise BadValue(column, str(exc))


def _fee(rate: Decimal | None, price: Decimal, quantity: Decimal) -> Decimal | None:
    if rate is None:
        return None
    with localcontext(AMOUNT_CONTEXT):
        return (rate * price * quantity).quantize(AMOUNT_QUANTUM)


def _time(row: dict, *columns: str):
    for column in columns:
        value = row.get(column)
        if value:
            return value if isinstance(value, str) else str(value)
    return None


def _quote(pair: str) -> str:
    quote = pair.split("/", 1)[1] if "/" in pair else ""
    return quote.split(":", 1)[0]


def _trade(t: dict, orders: list[dict], bot: str | None) -> list[dict]:
    key = trade_key(t["id"])
    pair = t.get("pair") or ""
    short = bool(t.get("is_short"))
    amount = _amount(t, "amount")
    open_rate = _amount(t, "open_rate")
    if amount is None or open_rate is None:
        raise BadValue("amount" if amount is None else "open_rate", "is empty")
    open_time = _time(t, "open_date")
    if open_time is None:
        raise BadValue("open_date", "is empty")
    stake = t.get("stake_currency") or _quote(pair)
    entry_fee = _amount(t, "fee_open_cost")
    if entry_fee is None:
        entry_fee = _fee(_amount(t, "fee_open"), open_rate, amount)
    metadata = {c: (decimal_str(v) if isinstance(v, Decimal) else v)
                for c in METADATA_COLUMNS if (v := _meta_value(t, c)) is not None}
    opening = {"type": "trade.open", "id": key, "symbol": pair, "side": "short" if short else "long",
               "quantity": amount, "entry_price": open_rate, "entry_time": open_time,
               "metadata": metadata, "freqtrade_id": t["id"]}
    for column, name in (("leverage", "leverage"), ("stop_loss", "sl_price")):
        value = _amount(t, column)
        if value is not None and value > 0:
            opening[name] = value
    if entry_fee is not None:
        opening["entry_fee"] = entry_fee
    if t.get("strategy"):
        opening["strategy"] = t["strategy"]
    if bot:
        opening["bot"] = bot
    items = [opening]

    filled = [o for o in orders if _is_filled(o)]
    if filled:
        for order in filled:
            items.append(_order_fill(t, order, key, short, stake, bot))
    else:
        # No orders table (or none filled): the trade's own rates are its fills.
        items.append(_synthetic_fill(t, key, "open", "sell" if short else "buy", open_rate, amount, open_time,
                                     entry_fee, stake, bot))

    closed = not t.get("is_open") and t.get("close_rate") is not None and _time(t, "close_date")
    if closed:
        close_rate = _amount(t, "close_rate")
        close_time = _time(t, "close_date")
        exit_fee = _amount(t, "fee_close_cost")
        if exit_fee is None:
            exit_fee = _fee(_amount(t, "fee_close"), close_rate, amount)
        if not filled:
            items.append(_synthetic_fill(t, key, "close", "buy" if short else "sell", close_rate, amount, close_time,
                                         exit_fee, stake, bot))
        closing = {"type": "trade.close", "id": key, "exit_price": close_rate, "exit_time": close_time}
        reason = t.get("exit_reason") or t.get("sell_reason")
        if reason:
            closing["close_reason"] = reason
        if exit_fee is not None:
            closing["exit_fee"] = exit_fee
        profit = _amount(t, "close_profit_abs")
        if profit is not None:
            closing["reported_pnl"] = profit
        if bot:
            closing["bot"] = bot
        items.append(closing)
    return items


def _meta_value(t: dict, column: str):
    value = t.get(column)
    if isinstance(value, float):
        return decimal_str(Decimal(repr(value)))
    return value if value not in ("", None) else None


def _is_filled(order: dict) -> bool:
    if order.get("ft_order_side") not in EXIT_ORDER_SIDES:
        return False
    try:
        filled = _amount(order, "filled")
    except BadValue:
        return False
    return filled is not None and filled > 0 and (order.get("average") or order.get("price")) is not None


def _order_fill(t: dict, o: dict, key: str, short: bool, stake: str, bot: str | None) -> dict:
    quantity = _amount(o, "filled")
    price = _amount(o, "average") or _amount(o, "price")
    side = o.get("side") or ("buy" if o.get("ft_order_side") == "buy" else "sell")
    entering = side == ("sell" if short else "buy")
    fee = _fee(_amount(t, "fee_open" if entering else "fee_close"), price, quantity)
    order_id = o.get("order_id") or f"{key}-order-{o['id']}"
    item = {"type": "fill", "id": f"{TRADE_PREFIX}order-{order_id}", "symbol": t.get("pair"), "side": side,
            "price": price, "quantity": quantity,
            "executed_at": _time(o, "order_filled_date", "order_update_date", "order_date") or _time(t, "open_date"),
            "order_id": str(order_id), "trade_id": key, "source": "import",
            "reason": "entry" if entering else (t.get("exit_reason") or t.get("sell_reason") or "exit")}
    if fee is not None:
        item["fee"] = fee
        item["fee_currency"] = stake
    if o.get("order_type"):
        item["order_type"] = o["order_type"]
    if bot:
        item["bot"] = bot
    return item


def _synthetic_fill(t: dict, key: str, leg: str, side: str, price: Decimal, quantity: Decimal, when: str,
                    fee: Decimal | None, stake: str, bot: str | None) -> dict:
    item = {"type": "fill", "id": f"{key}-{leg}", "symbol": t.get("pair"), "side": side, "price": price,
            "quantity": quantity, "executed_at": when, "trade_id": key, "source": "import",
            "reason": "entry" if leg == "open" else (t.get("exit_reason") or t.get("sell_reason") or "exit")}
    if fee is not None:
        item["fee"] = fee
        item["fee_currency"] = stake
    if bot:
        item["bot"] = bot
    return item
