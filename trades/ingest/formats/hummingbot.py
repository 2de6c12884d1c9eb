"""Rows of a hummingbot trades database → canonical items. Pure: no I/O.

hummingbot's `MarketsRecorder` writes one database per bot (`data/<config>.sqlite`, or
PostgreSQL), with the tables its models declare (`hummingbot/model/`):

- `TradeFill` — one row per fill: market, symbol (`BTC-USDT`), base/quote asset,
  `timestamp` (ms), `order_id` (hummingbot's client order id), `trade_type` (`BUY`/`SELL`),
  `order_type`, `price`, `amount`, `leverage`, `trade_fee` (JSON:
  `{"fee_type", "percent", "percent_token", "flat_fees": [{"token", "amount"}]}`),
  `trade_fee_in_quote`, `exchange_trade_id`, `position`;
- `Order` — one row per order, its newest state: `id` (client order id), symbol,
  `order_type`, `amount`, `price`, `last_status` (the name of the last market event:
  `BuyOrderCreated`, `OrderFilled`, `SellOrderCompleted`, `OrderCancelled`, `OrderFailure`,
  `OrderExpired`…), `last_update_timestamp` (ms), `exchange_order_id`, `leverage`, `position`;
- `OrderStatus` — every event of an order (its side is in `Buy…`/`Sell…` event names: the
  `Order` table has no side column);
- `FundingPayment` — perpetuals' funding: `timestamp`, market, symbol, `rate`, `amount`.

Amounts: since 2022 hummingbot stores `price`/`amount` as integers scaled by 10^6
(`SqliteDecimal(6)`, a BIGINT); older databases as floats. An integer is read as
micro-units, a float by its shortest text.

Fees: the percent part is `percent × price × amount`, in the quote asset — what
hummingbot itself counts it as (`fee_amount_in_token`: a percent fee is valued in the
quote whatever `percent_token` says, so a BNB-paid percent is booked as its quote value,
its token kept in `meta`); each flat fee is booked in its own token. A fee in the base
asset on a buy was taken from what the fill bought: the booked quantity is net of it, the
fee is kept in the base asset (as for freqtrade's `ft_fee_base`), so no position is left
that the bot does not hold.

Keys: a fill is `exchange_trade_id` (with its symbol: SPEC 4.1), an order hummingbot's
`id`, a funding payment `hb-funding-<market>-<symbol>-<timestamp>` — the database's own
keys, so a re-read books nothing twice.
"""

from __future__ import annotations

import json
from decimal import Decimal, localcontext
from pathlib import PurePath

from core.amounts import AMOUNT_CONTEXT, AMOUNT_QUANTUM, decimal_str, parse_amount
from core.errors import BadValue

FUNDING_PREFIX = "hb-funding-"

# hummingbot's market events (MarketEvent names, as `last_status` holds them) → order status.
STATUSES = {
    "BuyOrderCreated": "new", "SellOrderCreated": "new",
    "OrderFilled": "partially_filled",
    "BuyOrderCompleted": "filled", "SellOrderCompleted": "filled",
    "OrderCancelled": "canceled",
    "OrderExpired": "expired",
    "OrderFailure": "rejected", "TransactionFailure": "rejected",
}
ORDER_TYPES = {"LIMIT": "limit", "MARKET": "market", "LIMIT_MAKER": "limit_maker"}


def bot_key(row: dict) -> str | None:
    """`hummingbot:<config file name>`: each bot instance runs one config file."""
    config = row.get("config_file_path")
    if config:
        return f"hummingbot:{PurePath(str(config)).stem}"
    return f"hummingbot:{row['strategy']}" if row.get("strategy") else None


def fill_item(row: dict, *, bot: str | None = None) -> dict:
    """A TradeFill row → a fill. Raises BadValue(column, message)."""
    trade_id = row.get("exchange_trade_id")
    if trade_id in (None, ""):
        raise BadValue("exchange_trade_id", "is empty")
    side = str(row.get("trade_type") or "").lower()
    if side not in ("buy", "sell"):
        raise BadValue("trade_type", f"{row.get('trade_type')!r} is neither BUY nor SELL")
    price, amount = amount_of(row, "price"), amount_of(row, "amount")
    if price is None or price <= 0 or amount is None or amount <= 0:
        raise BadValue("price" if price is None or price <= 0 else "amount", "must be greater than 0")
    base, quote = row.get("base_asset") or "", row.get("quote_asset") or ""
    fee = _fee_json(row.get("trade_fee"))
    fees: list[tuple[Decimal, str]] = []
    quantity = amount
    with localcontext(AMOUNT_CONTEXT):
        percent = _decimal(fee.get("percent"), "trade_fee.percent") or Decimal(0)
        if percent:
            fees.append((_q(percent * price * amount), quote))
        for flat in fee.get("flat_fees") or ():
            if not isinstance(flat, dict):
                raise BadValue("trade_fee.flat_fees", "must be a list of {token, amount}")
            value = _decimal(flat.get("amount"), "trade_fee.flat_fees.amount")
            token = flat.get("token") or quote
            if not value:
                continue
            if side == "buy" and _same_token(token, base):
                quantity -= value  # taken from what the fill bought
            fees.append((value, token))
    if quantity <= 0:
        raise BadValue("trade_fee", "the fee in the base asset is the whole amount bought")
    item = {"type": "fill", "id": str(trade_id), "symbol": row.get("symbol"), "side": side, "price": price,
            "quantity": quantity, "executed_at": row.get("timestamp"), "order_id": row.get("order_id"),
            "source": "bot"}
    if len(fees) == 1:
        item["fee"], item["fee_currency"] = fees[0]
    elif fees:
        item["fees"] = [{"amount": a, "currency": c} for a, c in fees]
    meta = {"market": row.get("market"), "order_type": row.get("order_type"), "position": row.get("position"),
            "leverage": row.get("leverage"), "trade_fee": fee or None,
            "trade_fee_in_quote": _plain(amount_of(row, "trade_fee_in_quote")),
            "config_file_path": row.get("config_file_path"), "strategy": row.get("strategy")}
    if quantity != amount:
        meta["amount"] = decimal_str(amount)
    item["meta"] = {k: v for k, v in meta.items() if v not in (None, "")}
    bot = bot or bot_key(row)
    if bot:
        item["bot"] = bot
    return item


def order_item(row: dict, *, side: str | None, bot: str | None = None) -> dict:
    """An Order row → an order state. `side` comes from the order's events (OrderStatus) or fills:
    the Order table has none. Raises BadValue(column, message)."""
    status = STATUSES.get(str(row.get("last_status") or ""))
    if status is None:
        raise BadValue("last_status", f"{row.get('last_status')!r} is not an order event hummingbot writes")
    if side not in ("buy", "sell"):
        side = _side_of_event(row.get("last_status"))
    if side is None:
        raise BadValue("last_status", "the order's side is in none of its events or fills")
    item = {"type": "order", "id": str(row.get("id")), "client_order_id": str(row.get("id")),
            "symbol": row.get("symbol"), "side": side, "status": status,
            "order_type": ORDER_TYPES.get(str(row.get("order_type")), str(row.get("order_type") or "").lower()),
            "updated_at": row.get("last_update_timestamp")}
    price, amount = amount_of(row, "price"), amount_of(row, "amount")
    if price and price > 0:  # a market order's price is 0
        item["price"] = price
    if amount and amount > 0:
        item["quantity"] = amount
    meta = {"exchange_order_id": row.get("exchange_order_id"), "market": row.get("market"),
            "leverage": row.get("leverage"), "position": row.get("position"), "last_status": row.get("last_status"),
            "created": row.get("creation_timestamp"), "config_file_path": row.get("config_file_path"),
            "strategy": row.get("strategy")}
    item["meta"] = {k: v for k, v in meta.items() if v not in (None, "")}
    bot = bot or bot_key(row)
    if bot:
        item["bot"] = bot
    return item


def funding_item(row: dict, *, bot: str | None = None) -> dict:
    """A FundingPayment row → a funding cash flow, in the symbol's quote asset."""
    symbol = str(row.get("symbol") or "")
    amount = amount_of(row, "amount")
    if amount is None:
        raise BadValue("amount", "is empty")
    quote = symbol.rsplit("-", 1)[-1] if "-" in symbol else symbol
    item = {"type": "cashflow", "id": f"{FUNDING_PREFIX}{row.get('market')}-{symbol}-{row.get('timestamp')}",
            "kind": "funding", "amount": amount, "currency": quote, "symbol": symbol, "ts": row.get("timestamp"),
            "meta": {k: v for k, v in {"market": row.get("market"), "rate": _plain(amount_of(row, "rate")),
                                       "config_file_path": row.get("config_file_path")}.items() if v is not None}}
    if bot:
        item["bot"] = bot
    return item


def side_from_events(events) -> str | None:
    """An order's side from its OrderStatus events (`BuyOrderCreated`, `SellOrderCompleted`…)."""
    for event in events:
        side = _side_of_event(event)
        if side:
            return side
    return None


def _side_of_event(name) -> str | None:
    name = str(name or "")
    if name.startswith("Buy"):
        return "buy"
    if name.startswith("Sell"):
        return "sell"
    return None


def amount_of(row: dict, column: str) -> Decimal | None:
    """An amount column: an integer is SqliteDecimal(6) micro-units, a float its shortest text."""
    value = row.get(column)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadValue(column, "is not a number")
    if isinstance(value, int):
        return Decimal(value).scaleb(-6)  # exact
    return _decimal(value, column)


def _decimal(value, column: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return parse_amount(repr(value) if isinstance(value, float) else value)
    except BadValue as exc:
        raise BadValue(column, f"{value!r}: {exc}")


def _fee_json(value) -> dict:
    if value in (None, ""):
        return {}
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value, parse_float=Decimal)
        except ValueError as exc:
            raise BadValue("trade_fee", f"not JSON: {exc}")
    if not isinstance(value, dict):
        raise BadValue("trade_fee", "must be a JSON object")
    return value


def _q(value: Decimal) -> Decimal:
    return value.quantize(AMOUNT_QUANTUM, context=AMOUNT_CONTEXT)


def _plain(value):
    return decimal_str(value) if isinstance(value, Decimal) else value


def _same_token(a: str, b: str) -> bool:
    return a.upper() == b.upper()
