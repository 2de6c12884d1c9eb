"""Bybit V5 private websocket messages → canonical items (SPEC 4.3).

A bot forwards what `pybit` (or any websocket client) hands it: one message or a
list, each `{"topic", "creationTime", "data": [...]}` with topic `execution`,
`order`, `position` or `wallet` (also the category-suffixed forms such as
`execution.linear`). Field names are Bybit's (docs: bybit-exchange.github.io/docs/v5/websocket/private/).

- execution → fill (execType Trade and the other executions that move a position);
  execType Funding → a `funding` cash flow, signed as it moves equity (Bybit's
  execFee is positive when the account pays).
- order → order, Bybit's orderStatus mapped to ours.
- position → position snapshot; side Buy/Sell/"" → long/short/flat.
- wallet → one wallet snapshot per coin of data[].coin[].

Bybit sends "" for not-applicable values; those are left out, not sent as errors. What is
kept beside the booked fields (category, execType, …) goes in each item's `meta`. Inverse
contracts (category `inverse`: settled in the base coin) are a 400 naming the symbol (SPEC 4.3).

Limitation: positions are one per symbol (one-way mode, Bybit's default). In hedge
mode (positionIdx 1/2) each leg arrives as a snapshot of its own and two legs of one
symbol at the same updatedTime share a key: the second is a 409.
"""

import re

from core.amounts import parse_amount
from core.errors import BadValue
from trades.ingest.formats.base import (
    Origin,
    Problems,
    Translation,
    blank,
    check_time,
    inverse_contract,
    kept,
    ms,
    positive_or_none,
    set_if,
    with_meta,
)

TOPICS = ("execution", "order", "position", "wallet")

# Executions that change the position: booked as fills.
FILL_EXEC_TYPES = {"Trade", "AdlTrade", "BustTrade", "BlockTrade", "Delivery", "Settle", "MovePosition"}
FUNDING_EXEC_TYPE = "Funding"

ORDER_STATUS = {
    "Created": "new",
    "New": "new",
    "Untriggered": "new",
    "Triggered": "new",
    "Active": "new",
    "PartiallyFilled": "partially_filled",
    "Filled": "filled",
    "Cancelled": "canceled",
    "PartiallyFilledCanceled": "canceled",
    "Deactivated": "canceled",  # a conditional order canceled before it triggered
    "Rejected": "rejected",
}

POSITION_SIDE = {"Buy": "long", "Sell": "short", "": "flat", "None": "flat", None: "flat"}

CHANNEL = "ingest.bybit"


def settle_coin(symbol: str) -> str:
    """The coin a contract settles (and charges fees and funding) in, where Bybit leaves feeCurrency empty."""
    for quote in ("USDT", "USDC"):
        if symbol.endswith(quote):
            return quote
    if symbol.endswith("PERP"):
        return "USDC"
    # Inverse contracts (BTCUSD, ETHUSDH26) settle in the base coin.
    return symbol.split("USD", 1)[0] if "USD" in symbol else symbol


def translate(payload) -> Translation:
    """One message or a list of them → canonical items. Raises TradebookError naming message and field."""
    messages = payload if isinstance(payload, list) else [payload]
    out = Translation()
    problems = Problems()
    if not messages:
        problems.add(None, None, "send one Bybit message or a list of them")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            problems.add(i, None, "a Bybit message must be a JSON object")
            continue
        topic = message.get("topic")
        if topic is None and "op" in message:
            continue  # auth/subscribe/pong replies: a bot forwarding its whole stream may include them
        base = topic.split(".", 1)[0] if isinstance(topic, str) else None
        if base not in TOPICS:
            problems.add(i, "topic", f"must be one of {', '.join(TOPICS)} (got {topic!r})")
            continue
        if topic.startswith("execution.fast"):
            # The fast stream leaves out execFee: booked without a fee, the same execId from the
            # `execution` topic would then differ from it (409). Only the full stream is taken.
            problems.add(i, "topic", "execution.fast has no fees: post the execution topic instead")
            continue
        data = message.get("data")
        if not isinstance(data, list):
            problems.add(i, "data", "must be a list")
            continue
        for j, entry in enumerate(data):
            path = f"data[{j}]"
            if not isinstance(entry, dict):
                problems.add(i, path, "must be an object")
                continue
            if base == "execution":
                _execution(out, problems, i, path, entry)
            elif base == "order":
                _order(out, problems, i, path, entry)
            elif base == "position":
                _position(out, problems, i, path, entry, message)
            else:
                _wallet(out, problems, i, path, entry, message)
    problems.raise_any()
    return out


INVERSE_CATEGORY = "inverse"
# Bybit's inverse perpetuals and futures: BTCUSD, ETHUSDH26 (a month code and a year).
INVERSE_SYMBOL = re.compile(r"[A-Z0-9]+USD(?:[FGHJKMNQUVXZ][0-9]{2})?")


def _symbol(problems: Problems, i: int, path: str, e: dict) -> str | None:
    """The entry's symbol, refused where it is not text or names an inverse contract (SPEC 4.3)."""
    symbol = e.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        problems.add(i, f"{path}.symbol", "must be the symbol, as text")
        return None
    category = e.get("category")
    # Bybit V5 names the category; an entry without one is judged by its symbol (BTCUSD, ETHUSDH26).
    if category == INVERSE_CATEGORY or (category is None and INVERSE_SYMBOL.fullmatch(symbol)):
        inverse_contract(problems, i, f"{path}.symbol", symbol)
        return None
    return symbol


def _side(value):
    return value.lower() if isinstance(value, str) else value


def _execution(out: Translation, problems: Problems, i: int, path: str, e: dict) -> None:
    exec_type = e.get("execType", "Trade")
    if not isinstance(exec_type, str):
        problems.add(i, f"{path}.execType", "must be Bybit's execType, as text")
        return
    symbol = _symbol(problems, i, path, e)
    if symbol is None:
        return
    if exec_type == FUNDING_EXEC_TYPE:
        # Funding: execFee > 0 is paid by the account, so it moves equity by -execFee.
        try:
            amount = -parse_amount(e.get("execFee"))
        except BadValue as exc:
            problems.add(i, f"{path}.execFee", str(exc))
            return
        item = {
            "type": "cashflow", "id": e.get("execId"), "kind": "funding", "amount": amount,
            "currency": e.get("feeCurrency") or settle_coin(symbol), "symbol": symbol, "ts": ms(e.get("execTime")),
        }
        with_meta(item, {"source": "exchange", "exec_type": exec_type,
                         **kept(e, (("feeRate", "funding_rate"), ("execValue", "position_value")))})
        out.add(item, Origin(i, path, {"id": "execId", "amount": "execFee", "currency": "feeCurrency",
                                       "ts": "execTime", "symbol": "symbol"}))
        return
    if exec_type not in FILL_EXEC_TYPES:
        problems.add(i, f"{path}.execType", f"{exec_type!r} is not an execution tradebook books")
        return
    item = {
        "type": "fill", "id": e.get("execId"), "symbol": symbol, "side": _side(e.get("side")),
        "price": e.get("execPrice"), "quantity": e.get("execQty"), "executed_at": ms(e.get("execTime")),
        "source": "exchange",
    }
    if not blank(e.get("execFee")):
        item["fee"] = e["execFee"]
        item["fee_currency"] = e.get("feeCurrency") or settle_coin(symbol)
    set_if(item, "order_id", e.get("orderId"))
    if isinstance(e.get("isMaker"), bool):
        item["is_maker"] = e["isMaker"]
    # Kept in meta: useful to a person reading the journal, not booked.
    with_meta(item, kept(e, (("category", "category"), ("orderLinkId", "order_link_id"), ("execType", "exec_type"),
                             ("execValue", "exec_value"), ("feeRate", "fee_rate"), ("closedSize", "closed_size"),
                             ("markPrice", "exec_mark_price"))))
    out.add(item, Origin(i, path, {"id": "execId", "symbol": "symbol", "side": "side", "price": "execPrice",
                                   "quantity": "execQty", "fee": "execFee", "fee_currency": "feeCurrency",
                                   "executed_at": "execTime", "order_id": "orderId", "is_maker": "isMaker"}))


def _order(out: Translation, problems: Problems, i: int, path: str, e: dict) -> None:
    status = e.get("orderStatus")
    if not isinstance(status, str) or status not in ORDER_STATUS:
        problems.add(i, f"{path}.orderStatus", f"unknown Bybit order status {status!r}")
        return
    symbol = _symbol(problems, i, path, e)
    if symbol is None:
        return
    item = {
        "type": "order", "id": e.get("orderId"), "symbol": symbol, "side": _side(e.get("side")),
        "status": ORDER_STATUS[status], "updated_at": ms(e.get("updatedTime") or e.get("createdTime")),
    }
    set_if(item, "client_order_id", e.get("orderLinkId"))
    order_type = e.get("orderType")
    if isinstance(order_type, str) and order_type:
        stop = e.get("stopOrderType")
        item["order_type"] = "stop" if stop not in (None, "", "UNKNOWN") and order_type == "Market" else order_type.lower()
    item_price = positive_or_none(e.get("price"))
    if item_price is not None:
        item["price"] = item_price
    set_if(item, "quantity", e.get("qty"))
    set_if(item, "filled_quantity", e.get("cumExecQty"))
    average = positive_or_none(e.get("avgPrice"))
    if average is not None:
        item["average_price"] = average
    if isinstance(e.get("reduceOnly"), bool):
        item["reduce_only"] = e["reduceOnly"]
    with_meta(item, kept(e, (("category", "category"), ("orderStatus", "exchange_status"),
                             ("stopOrderType", "stop_order_type"), ("triggerPrice", "trigger_price"),
                             ("timeInForce", "time_in_force"), ("rejectReason", "reject_reason"),
                             ("cancelType", "cancel_type"), ("createdTime", "exchange_created_at")),
                         skip=("0", "UNKNOWN", "EC_NoError", "UNKNOWN_CANCEL")))
    out.add(item, Origin(i, path, {"id": "orderId", "client_order_id": "orderLinkId", "symbol": "symbol",
                                   "side": "side", "order_type": "orderType", "status": "orderStatus",
                                   "price": "price", "quantity": "qty", "filled_quantity": "cumExecQty",
                                   "average_price": "avgPrice", "reduce_only": "reduceOnly",
                                   "updated_at": "updatedTime"}))


def _position(out: Translation, problems: Problems, i: int, path: str, e: dict, message: dict) -> None:
    side = e.get("side")
    if not (side is None or isinstance(side, str)) or side not in POSITION_SIDE:
        problems.add(i, f"{path}.side", f"must be Buy, Sell or empty (got {side!r})")
        return
    symbol = _symbol(problems, i, path, e)
    if symbol is None:
        return
    size = e.get("size")
    try:
        flat = not blank(size) and parse_amount(size) == 0
    except BadValue:
        flat = False
    item = {
        "type": "position", "symbol": symbol, "side": "flat" if flat else POSITION_SIDE[side],
        "size": size, "exchange_ts": ms(e.get("updatedTime") or message.get("creationTime")),
    }
    entry = positive_or_none(e.get("entryPrice", e.get("avgPrice")))
    if entry is not None:
        item["entry_price"] = entry
    for native, name in (("markPrice", "mark_price"), ("liqPrice", "liq_price")):
        value = positive_or_none(e.get(native))
        if value is not None:
            item[name] = value
    set_if(item, "unrealized_pnl", e.get("unrealisedPnl"))
    set_if(item, "leverage", e.get("leverage"))
    with_meta(item, kept(e, (("category", "category"), ("positionIdx", "position_idx"),
                             ("positionValue", "position_value"), ("cumRealisedPnl", "cum_realised_pnl"),
                             ("curRealisedPnl", "cur_realised_pnl"), ("positionStatus", "position_status"))))
    out.add(item, Origin(i, path, {"symbol": "symbol", "side": "side", "size": "size",
                                   "entry_price": "entryPrice", "mark_price": "markPrice", "liq_price": "liqPrice",
                                   "unrealized_pnl": "unrealisedPnl", "leverage": "leverage",
                                   "exchange_ts": "updatedTime"}))


def _wallet(out: Translation, problems: Problems, i: int, path: str, e: dict, message: dict) -> None:
    coins = e.get("coin")
    if not isinstance(coins, list):
        problems.add(i, f"{path}.coin", "must be a list of coins")
        return
    ts = ms(message.get("creationTime") or e.get("updatedTime"))
    if not check_time(problems, i, "creationTime", ts):
        return
    for k, c in enumerate(coins):
        coin_path = f"{path}.coin[{k}]"
        if not isinstance(c, dict):
            problems.add(i, coin_path, "must be an object")
            continue
        item = {"type": "wallet", "coin": c.get("coin"), "wallet_balance": c.get("walletBalance"), "exchange_ts": ts}
        # Unified accounts 2.0 send availableToWithdraw as "": leave it out rather than guess.
        set_if(item, "available_balance", c.get("availableToWithdraw"))
        set_if(item, "equity", c.get("equity"))
        with_meta(item, {**kept(e, (("accountType", "account_type"),)),
                         **kept(c, (("usdValue", "usd_value"), ("unrealisedPnl", "unrealised_pnl"),
                                    ("cumRealisedPnl", "cum_realised_pnl"), ("locked", "locked")))})
        out.add(item, Origin(i, coin_path, {"coin": "coin", "wallet_balance": "walletBalance",
                                            "available_balance": "availableToWithdraw", "equity": "equity",
                                            "exchange_ts": "creationTime"}))
