"""CCXT unified structures → canonical items (SPEC 4.3).

A bot posts what its CCXT calls returned, under the name of the structure:
`{"trades": fetch_my_trades()}`, `{"orders": fetch_orders()}`,
`{"positions": fetch_positions()}`, `{"balance": fetch_balance()}` — several keys
at once, or a list of such objects; a bare list of anything else is read as `trades`.
Field names are CCXT's (docs.ccxt.com, "Unified API").

- trade (CCXT's word for a fill) → fill: id, order, symbol, side, price, amount,
  fee {cost, currency} or fees [...], timestamp, takerOrMaker. A Bybit funding
  execution (`info.execType` "Funding") is a funding cash flow of −execFee, not a fill.
- order → order: CCXT's status open/closed/canceled/expired/rejected (null: open, as
  create_order returns it on some exchanges), with filled/amount telling `new` from
  `partially_filled`.
- position → position snapshot: side long/short, contracts, entryPrice,
  markPrice, liquidationPrice, unrealizedPnl, leverage, timestamp.
- balance → one wallet snapshot per coin: total, free (its timestamp, or the
  time of the request when the exchange gives none).

Symbols are kept as CCXT writes them ("BTC/USDT:USDT"). Quantities are booked in the base
asset: CCXT's `amount` and `contracts` count contracts, so a contract market's quantity is
`amount × contractSize`, the size from the structure's `contractSize` or else from
`cost / (amount × price)` (CCXT's cost is in the quote currency, contract size included);
the contracts are kept in meta. Inverse contracts (`BASE/QUOTE:BASE`, settled in the base
coin) are a 400 naming the symbol. What is kept beside the booked fields goes in `meta`.
"""

from datetime import datetime
from decimal import Decimal, localcontext

from core.amounts import AMOUNT_CONTEXT, decimal_str, parse_amount
from core.errors import BadValue
from trades.ingest.formats.base import (
    Origin,
    Problems,
    Translation,
    blank,
    inverse_contract,
    kept,
    ms,
    positive_or_none,
    set_if,
    text_or_none,
    with_meta,
)

STRUCTURES = ("trades", "orders", "positions", "balance")
# Keys of a fetch_balance() result that are not coins.
BALANCE_KEYS = {"info", "timestamp", "datetime", "free", "used", "total", "debt"}
FUNDING_EXEC_TYPE = "Funding"  # Bybit's execType of a funding fee, in a CCXT trade's `info`
# A contract size is a round number (0.01, 1, 100): one derived from cost / (amount × price) is
# rounded to this many significant digits, so a cost the exchange rounded does not skew it.
SIZE_DIGITS = 6

CHANNEL = "ingest.ccxt"


def translate(payload, *, now: datetime) -> tuple[Translation, str | None]:
    """The posted object(s) → canonical items and the `account` they name (if any).

    Errors name the structure's index within its list and the path of the CCXT field,
    e.g. index 3, field "trades[3].price".
    """
    if isinstance(payload, list) and not all(_is_block(b) for b in payload):
        payload = {"trades": payload}  # SPEC 4.3: a bare list is fetch_my_trades()' list
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
        named = block.get("account")
        if named is not None:
            if isinstance(named, str):
                accounts.add(named)
            else:
                problems.add(None, f"{prefix}account", "must be an account slug")
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


def _is_block(value) -> bool:
    """An object of structures ({"trades": [...], …}), as opposed to a trade of a bare list."""
    return isinstance(value, dict) and bool(value) and set(value) <= {*STRUCTURES, "account"}


def _time(row: dict):
    """CCXT's `timestamp` (ms), or its ISO `datetime` where the exchange gave only that."""
    value = row.get("timestamp")
    return ms(value) if value is not None else row.get("datetime")


def _number(value) -> Decimal | None:
    """An exact number where the value is one (the validator names it otherwise)."""
    if blank(value):
        return None
    try:
        return parse_amount(value)
    except BadValue:
        return None


def _symbol(problems: Problems, j: int, path: str, row: dict) -> str | None:
    """The structure's symbol, refused where it is not text or names an inverse contract."""
    symbol = text_or_none(row.get("symbol"))
    if not symbol:
        problems.add(j, f"{path}.symbol", "must be the CCXT symbol, as text (e.g. BTC/USDT:USDT)")
        return None
    pair, _colon, settle = symbol.partition(":")
    if settle and settle.split("-", 1)[0] == pair.split("/", 1)[0]:  # BTC/USD:BTC, BTC/USD:BTC-261225
        inverse_contract(problems, j, f"{path}.symbol", symbol)
        return None
    return symbol


def contract_size(row: dict, symbol: str, amount: Decimal | None, price: Decimal | None) -> Decimal | None:
    """Base units per contract: the structure's `contractSize`, or for a contract market
    (`BASE/QUOTE:SETTLE`) cost / (amount × price) rounded to SIZE_DIGITS significant digits; None
    where neither says (spot: the amount is in the base already)."""
    given = _number(row.get("contractSize"))
    if given is not None and given > 0:
        return given
    cost = _number(row.get("cost"))
    if ":" not in symbol or cost is None or not amount or not price or cost <= 0:
        return None
    with localcontext(AMOUNT_CONTEXT):
        ratio = cost / (amount * price)
        size = ratio.quantize(Decimal(1).scaleb(ratio.adjusted() - SIZE_DIGITS + 1)).normalize()
    return size


def _in_base(item: dict, key: str, contracts, size: Decimal | None, meta: dict) -> None:
    """`item[key]` = contracts × size (the contracts kept in meta); as posted where the size is 1."""
    amount = _number(contracts)
    if size is None or size == 1 or amount is None:
        return
    with localcontext(AMOUNT_CONTEXT):
        item[key] = decimal_str(amount * size)
    meta["contracts"] = contracts
    meta["contract_size"] = decimal_str(size)


def _trade(out: Translation, problems: Problems, j: int, path: str, t: dict) -> None:
    symbol = _symbol(problems, j, path, t)
    if symbol is None:
        return
    info = t.get("info") if isinstance(t.get("info"), dict) else {}
    if info.get("execType") == FUNDING_EXEC_TYPE:
        _funding(out, problems, j, path, t, info, symbol)
        return
    item = {"type": "fill", "id": t.get("id"), "symbol": symbol, "side": t.get("side"),
            "price": t.get("price"), "quantity": t.get("amount"), "executed_at": _time(t), "source": "exchange"}
    fields = {"id": "id", "symbol": "symbol", "side": "side", "price": "price", "quantity": "amount",
              "executed_at": "timestamp", "order_id": "order", "fee": "fee.cost", "fee_currency": "fee.currency",
              "fees": "fees", "is_maker": "takerOrMaker"}
    raw_fees = t.get("fees")
    fees = [f for f in raw_fees if isinstance(f, dict) and not blank(f.get("cost"))] \
        if isinstance(raw_fees, list) else []
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
    meta = kept(t, (("type", "order_type"), ("cost", "cost")))
    if isinstance(info.get("execType"), str):
        meta["exec_type"] = info["execType"]  # Settle, Delivery, BustTrade, AdlTrade…: fills all the same
    size = contract_size(t, symbol, _number(t.get("amount")), _number(t.get("price")))
    _in_base(item, "quantity", t.get("amount"), size, meta)
    out.add(with_meta(item, meta), Origin(j, path, fields))


def _funding(out: Translation, problems: Problems, j: int, path: str, t: dict, info: dict, symbol: str) -> None:
    """A Bybit funding execution fetched through CCXT: a funding cash flow of −execFee (Bybit's
    execFee is what the account paid), in the fee's currency."""
    fee = t.get("fee") if isinstance(t.get("fee"), dict) else {}
    paid = info.get("execFee") if not blank(info.get("execFee")) else fee.get("cost")
    try:
        amount = -parse_amount(paid)
    except BadValue as exc:
        problems.add(j, f"{path}.info.execFee", str(exc))
        return
    currency = info.get("feeCurrency") or fee.get("currency") or symbol.partition(":")[2] or None
    item = {"type": "cashflow", "id": t.get("id") or info.get("execId"), "kind": "funding", "amount": amount,
            "currency": currency, "symbol": symbol, "ts": _time(t)}
    with_meta(item, {"source": "exchange", "exec_type": FUNDING_EXEC_TYPE,
                     **kept(info, (("feeRate", "funding_rate"), ("execValue", "position_value")))})
    out.add(item, Origin(j, path, {"id": "id", "amount": "info.execFee", "currency": "info.feeCurrency",
                                   "symbol": "symbol", "ts": "timestamp"}))


def _order(out: Translation, problems: Problems, j: int, path: str, o: dict) -> None:
    status = o.get("status")
    filled = o.get("filled")
    try:
        some_filled = not blank(filled) and parse_amount(filled) > 0
    except BadValue:
        problems.add(j, f"{path}.filled", "must be a decimal number")
        return
    if status == "open" or status is None:  # null: create_order's answer on some exchanges, an open order
        ours = "partially_filled" if some_filled else "new"
    elif status == "closed":
        ours = "filled"
    elif status in ("canceled", "cancelled"):
        ours = "canceled"
    elif status in ("expired", "rejected"):
        ours = status
    else:
        problems.add(j, f"{path}.status", f"must be open, closed, canceled, expired, rejected or null "
                                          f"(got {status!r})")
        return
    symbol = _symbol(problems, j, path, o)
    if symbol is None:
        return
    updated = o.get("lastUpdateTimestamp") or o.get("lastTradeTimestamp") or o.get("timestamp")
    item = {"type": "order", "id": o.get("id"), "symbol": symbol, "side": o.get("side"), "status": ours,
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
    meta = kept(o, (("timeInForce", "time_in_force"), ("stopPrice", "stop_price"), ("triggerPrice", "trigger_price")))
    meta["ccxt_status"] = status
    # An order's amounts are in contracts too; only its own contractSize says how big one is.
    size = _number(o.get("contractSize"))
    if size is not None and size > 0 and size != 1:
        _in_base(item, "quantity", o.get("amount"), size, meta)
        done = _number(filled)
        if done is not None:
            with localcontext(AMOUNT_CONTEXT):
                item["filled_quantity"] = decimal_str(done * size)
    out.add(with_meta(item, meta), Origin(j, path, {
        "id": "id", "symbol": "symbol", "side": "side", "status": "status", "updated_at": "lastUpdateTimestamp",
        "client_order_id": "clientOrderId", "order_type": "type", "price": "price", "average_price": "average",
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
    symbol = _symbol(problems, j, path, p)
    if symbol is None:
        return
    item = {"type": "position", "symbol": symbol, "side": side, "size": abs(size), "exchange_ts": _time(p)}
    for native, name in (("entryPrice", "entry_price"), ("markPrice", "mark_price"),
                         ("liquidationPrice", "liq_price")):
        value = positive_or_none(p.get(native))
        if value is not None:
            item[name] = value
    set_if(item, "unrealized_pnl", p.get("unrealizedPnl"))
    set_if(item, "leverage", p.get("leverage"))
    meta = kept(p, (("notional", "notional"), ("marginMode", "margin_mode"), ("initialMargin", "initial_margin"),
                    ("realizedPnl", "ccxt_realized_pnl")))
    per_contract = _number(p.get("contractSize"))
    if per_contract is not None and per_contract > 0 and per_contract != 1:
        _in_base(item, "size", abs(size), per_contract, meta)  # the size in the base, as the fills are
        meta["contracts"] = contracts  # as posted
    out.add(with_meta(item, meta), Origin(j, path, {
        "symbol": "symbol", "side": "side", "size": "contracts", "entry_price": "entryPrice",
        "mark_price": "markPrice", "liq_price": "liquidationPrice", "unrealized_pnl": "unrealizedPnl",
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
        with_meta(item, kept(entry, (("used", "used"),)))
        out.add(item, Origin(None, f"{path}.{coin}", {"coin": "coin", "wallet_balance": "total",
                                                      "available_balance": "free", "exchange_ts": "timestamp"}))
