"""CCXT unified structures → canonical items (SPEC 4.3).

A bot posts what its CCXT calls returned, under the name of the structure:
`{"trades": fetch_my_trades()}`, `{"orders": fetch_orders()}`,
`{"positions": fetch_positions()}`, `{"balance": fetch_balance()}` — several keys
at once, or a list of such objects. Field names are CCXT's (docs.ccxt.com, "Unified API").

- trade (CCXT's word for a fill) → fill: id, order, symbol, side, price, amount,
  fee {cost, currency} or fees [...], timestamp, takerOrMaker.
- order → order: CCXT's status open/closed/canceled/expired/rejected, with
  filled/amount telling `new` from `partially_filled`.
- position → position snapshot: side long/short, contracts, entryPrice,
  markPrice, liquidationPrice, unrealizedPnl, leverage, timestamp.
- balance → one wallet snapshot per coin: total, free (its timestamp, or the
  time of the request when the exchange gives none).

Symbols are kept as CCXT writes them ("BTC/USDT:USDT"), quantities in contracts.
"""

from datetime import datetime

from core.amounts import parse_amount
from core.errors import BadValue
from trades.ingest.formats.base import Origin, Problems, Translation, blank, ms, positive_or_none, set_if

STRUCTURES = ("trades", "orders", "positions", "balance")
# Keys of a fetch_balance() result that are not coins.
BALANCE_KEYS = {"info", "timestamp", "datetime", "free", "used", "total", "debt"}

CHANNEL = "ingest.ccxt"


def translate(payload, *, now: datetime) -> tuple[Translation, str | None]:
    """The posted object(s) → canonical items and the `account` they name (if any).

    Errors name the structure's index within its list and the path of the CCXT field,
    e.g. index 3, field "trades[3].price".
    """
    blocks = payload if isinstance(payload, list) else [payload]
    out = Translation()
    problems = Problems()
    accounts = set()
    if not blocks:
        problems.add(None, None, "send an object with trades, orders, positions or balance")
    for b, block in enumerate(blocks):
        prefix = f"[{b}]." if isinstance(payload, list) else ""
        if not isinstance(block, dict):
            problems.add(None, prefix or None, "must be an object with trades, orders, positions or balance")
            continue
        unknown = sorted(set(block) - set(STRUCTURES) - {"account"})
        for key in unknown:
            problems.add(None, f"{prefix}{key}", f"is not a CCXT structure tradebook takes ({', '.join(STRUCTURES)})")
        if not any(key in block for key in STRUCTURES):
            problems.add(None, prefix or None, f"name at least one of {', '.join(STRUCTURES)}")
        if block.get("account") is not None:
            accounts.add(block["account"])
        for key, handler in (("trades", _trade), ("orders", _order), ("positions", _position)):
            if key not in block:
                continue
            rows = block[key]
            if not isinstance(rows, list):
                problems.add(None, f"{prefix}{key}", "must be a list")
                continue
            for j, row in enumerate(rows):
                path = f"{prefix}{key}[{j}]"
                if not isinstance(row, dict):
                    problems.add(j, path, "must be an object")
                    continue
                handler(out, problems, j, path, row)
        if "balance" in block:
            _balance(out, problems, f"{prefix}balance", block["balance"], now)
    if len(accounts) > 1:
        problems.add(None, "account", "name one account per request")
    problems.raise_any()
    return out, (accounts.pop() if accounts else None)


def _time(row: dict):
    """CCXT's `timestamp` (ms), or its ISO `datetime` where the exchange gave only that."""
    value = row.get("timestamp")
    return ms(value) if value is not None else row.get("datetime")


def _trade(out: Translation, problems: Problems, j: int, path: str, t: dict) -> None:
    item = {"type": "fill", "id": t.get("id"), "symbol": t.get("symbol"), "side": t.get("side"),
            "price": t.get("price"), "quantity": t.get("amount"), "executed_at": _time(t), "source": "exchange"}
    fields = {"id": "id", "symbol": "symbol", "side": "side", "price": "price", "quantity": "amount",
              "executed_at": "timestamp", "order_id": "order", "fee": "fee.cost", "fee_currency": "fee.currency",
              "fees": "fees", "is_maker": "takerOrMaker"}
    fees = [f for f in (t.get("fees") or []) if isinstance(f, dict) and not blank(f.get("cost"))]
    fee = t.get("fee")
    if len(fees) > 1:
        item["fees"] = [{"amount": f.get("cost"), "currency": f.get("currency")} for f in fees]
    else:
        single = fees[0] if fees else fee if isinstance(fee, dict) else None
        if single is not None and not blank(single.get("cost")):
            item["fee"] = single.get("cost")
            set_if(item, "fee_currency", single.get("currency"))
    set_if(item, "order_id", t.get("order"))
    if t.get("takerOrMaker") in ("taker", "maker"):
        item["is_maker"] = t["takerOrMaker"] == "maker"
    for native, name in (("type", "order_type"), ("cost", "cost")):
        set_if(item, name, t.get(native))
    out.add(item, Origin(j, path, fields))


def _order(out: Translation, problems: Problems, j: int, path: str, o: dict) -> None:
    status = o.get("status")
    filled = o.get("filled")
    try:
        some_filled = not blank(filled) and parse_amount(filled) > 0
    except BadValue:
        problems.add(j, f"{path}.filled", "must be a decimal number")
        return
    if status == "open":
        ours = "partially_filled" if some_filled else "new"
    elif status == "closed":
        ours = "filled"
    elif status in ("canceled", "cancelled"):
        ours = "canceled"
    elif status in ("expired", "rejected"):
        ours = status
    else:
        problems.add(j, f"{path}.status", f"must be open, closed, canceled, expired or rejected (got {status!r})")
        return
    updated = o.get("lastUpdateTimestamp") or o.get("lastTradeTimestamp") or o.get("timestamp")
    item = {"type": "order", "id": o.get("id"), "symbol": o.get("symbol"), "side": o.get("side"), "status": ours,
            "updated_at": ms(updated) if updated is not None else o.get("datetime")}
    set_if(item, "client_order_id", o.get("clientOrderId"))
    set_if(item, "order_type", o.get("type"))
    for native, name in (("price", "price"), ("average", "average_price")):
        value = positive_or_none(o.get(native))
        if value is not None:
            item[name] = value
    set_if(item, "quantity", o.get("amount"))
    set_if(item, "filled_quantity", filled)
    if isinstance(o.get("reduceOnly"), bool):
        item["reduce_only"] = o["reduceOnly"]
    for native, name in (("timeInForce", "time_in_force"), ("stopPrice", "stop_price"),
                         ("triggerPrice", "trigger_price")):
        set_if(item, name, o.get(native))
    item["ccxt_status"] = status
    out.add(item, Origin(j, path, {"id": "id", "symbol": "symbol", "side": "side", "status": "status",
                                   "updated_at": "lastUpdateTimestamp", "client_order_id": "clientOrderId",
                                   "order_type": "type", "price": "price", "average_price": "average",
                                   "quantity": "amount", "filled_quantity": "filled", "reduce_only": "reduceOnly"}))


def _position(out: Translation, problems: Problems, j: int, path: str, p: dict) -> None:
    contracts = p.get("contracts")
    if contracts is None:
        contracts = 0  # CCXT gives None for a symbol with no position
    try:
        size = parse_amount(contracts)
    except BadValue as exc:
        problems.add(j, f"{path}.contracts", str(exc))
        return
    side = p.get("side")
    if size == 0:
        side = "flat"
    elif side not in ("long", "short"):
        problems.add(j, f"{path}.side", f"must be long or short (got {side!r})")
        return
    item = {"type": "position", "symbol": p.get("symbol"), "side": side, "size": abs(size),
            "exchange_ts": _time(p)}
    for native, name in (("entryPrice", "entry_price"), ("markPrice", "mark_price"),
                         ("liquidationPrice", "liq_price")):
        value = positive_or_none(p.get(native))
        if value is not None:
            item[name] = value
    set_if(item, "unrealized_pnl", p.get("unrealizedPnl"))
    set_if(item, "leverage", p.get("leverage"))
    for native, name in (("contractSize", "contract_size"), ("notional", "notional"),
                         ("marginMode", "margin_mode"), ("initialMargin", "initial_margin"),
                         ("realizedPnl", "ccxt_realized_pnl")):
        set_if(item, name, p.get(native))
    out.add(item, Origin(j, path, {"symbol": "symbol", "side": "side", "size": "contracts",
                                   "entry_price": "entryPrice", "mark_price": "markPrice",
                                   "liq_price": "liquidationPrice", "unrealized_pnl": "unrealizedPnl",
                                   "leverage": "leverage", "exchange_ts": "timestamp"}))


def _balance(out: Translation, problems: Problems, path: str, balance, now: datetime) -> None:
    if not isinstance(balance, dict):
        problems.add(None, path, "must be the object fetch_balance() returns")
        return
    ts = _time(balance)
    if ts is None:
        # Many exchanges give fetch_balance() no time: the snapshot is of the moment it was posted.
        ts = now.isoformat()
    for coin, entry in balance.items():
        if coin in BALANCE_KEYS or not isinstance(entry, dict):
            continue
        if entry.get("total") is None:
            continue  # CCXT lists coins it knows nothing about with nulls
        item = {"type": "wallet", "coin": coin, "wallet_balance": entry.get("total"), "exchange_ts": ts}
        set_if(item, "available_balance", entry.get("free"))
        set_if(item, "used", entry.get("used"))
        out.add(item, Origin(None, f"{path}.{coin}", {"coin": "coin", "wallet_balance": "total",
                                                      "available_balance": "free", "exchange_ts": "timestamp"}))
