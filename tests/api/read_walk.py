"""An account with something of every kind, and every read request of the API against it.

Shared by the schema walk (every key of every answer is the schema's) and the read-only walk
(no read writes). The history lies in past days, so the days are not rolled up: a read that
rolled them up would write.
"""

from datetime import timedelta

from drf_spectacular.generators import SchemaGenerator

from tests.factories import T0
from trades.ingest import record

DAY = timedelta(days=1)


def at(days: float) -> str:
    return (T0 + days * DAY).isoformat()


def populate(account) -> None:
    """Fills in two symbols by two bots with trades and strategies, an order, a void, signals,
    cash flows (a deposit, funding, a fee in another currency), marks, reported snapshots, a log."""
    items = [
        {"type": "trade.open", "id": "t1", "symbol": "BTCUSDT", "side": "long", "quantity": "0.5",
         "entry_price": "40000", "entry_time": at(0), "sl_price": "39000", "strategy": "breakout", "bot": "paper:a"},
        {"type": "order", "id": "o1", "symbol": "BTCUSDT", "side": "buy", "status": "filled", "order_type": "market",
         "quantity": "0.5", "filled_quantity": "0.5", "average_price": "40000", "updated_at": at(0), "bot": "paper:a"},
        {"type": "fill", "id": "f1", "symbol": "BTCUSDT", "side": "buy", "price": "40000", "quantity": "0.5",
         "fee": "4", "fee_currency": "USDT", "order_id": "o1", "trade_id": "t1", "executed_at": at(0),
         "bot": "paper:a", "note": "kept in meta"},
        {"type": "fill", "id": "f2", "symbol": "BTCUSDT", "side": "sell", "price": "41000.5", "quantity": "0.5",
         "fees": [{"amount": "2", "currency": "USDT"}, {"amount": "0.001", "currency": "BNB"}], "trade_id": "t1",
         "executed_at": at(1), "reported_pnl": "494", "bot": "paper:a"},
        {"type": "trade.close", "id": "t1", "exit_price": "41000.5", "exit_time": at(1), "exit_fee": "2",
         "close_reason": "tp", "reported_pnl": "494"},
        {"type": "fill", "id": "f3", "symbol": "ETHUSDT", "side": "sell", "price": "2000", "quantity": "2",
         "executed_at": at(1.5), "bot": "paper:b"},
        {"type": "fill", "id": "f4", "symbol": "ETHUSDT", "side": "buy", "price": "1990", "quantity": "1",
         "executed_at": at(2), "bot": "paper:b"},
        {"type": "fill", "id": "f5", "symbol": "ETHUSDT", "side": "buy", "price": "1", "quantity": "1",
         "executed_at": at(2.1), "bot": "paper:b"},
        {"type": "fill.void", "id": "f5", "symbol": "ETHUSDT", "reason": "posted by mistake"},
        {"type": "signal", "id": "s1", "symbol": "BTCUSDT", "value": 1, "generated_at": at(0), "strength": "0.7",
         "strategy": "breakout", "metadata": {"rsi": "31.5"}},
        {"type": "cashflow", "id": "c1", "kind": "deposit", "amount": "1000", "currency": "USDT", "ts": at(0.5)},
        {"type": "cashflow", "id": "c2", "kind": "funding", "amount": "-1.25", "currency": "USDT",
         "symbol": "ETHUSDT", "ts": at(2.5)},
        {"type": "mark", "symbol": "ETHUSDT", "price": "1985", "ts": at(3)},
        {"type": "mark", "symbol": "BNBUSDT", "price": "600", "ts": at(3)},
        {"type": "position", "symbol": "ETHUSDT", "side": "short", "size": "1", "entry_price": "2000",
         "mark_price": "1984", "exchange_ts": at(3), "bot": "paper:b"},
        {"type": "wallet", "coin": "USDT", "wallet_balance": "11400", "exchange_ts": at(3), "bot": "paper:b"},
        {"type": "equity", "equity": "11410", "cash": "11400", "positions_value": "1984", "exchange_ts": at(3),
         "bot": "paper:b"},
        {"type": "log", "message": "walked", "level": "info", "ts": at(3)},
    ]
    record(accounts=[account], items=items, default_account=account)


def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


# Each templated path, the values it is read with; each path, the query variants it is read with.
KEYS = {"{key}": {"/api/v1/fills/{key}/": "f1", "/api/v1/orders/{key}/": "o1", "/api/v1/orders/{key}/fills/": "o1",
                  "/api/v1/trades/{key}/": "t1", "/api/v1/trades/{key}/fills/": "t1"}}
QUERIES = {
    "/api/v1/accounts/{slug}/pnl/": ["period=day", "period=week", "period=month"],
    "/api/v1/accounts/{slug}/performance/": ["by=symbol", "by=bot", "by=strategy"],
    "/api/v1/trades/": ["", "status=open", "status=closed"],
    "/api/v1/fills/": ["", "page_size=2", "symbol=ETHUSDT&voided=true"],
    "/api/v1/events/": ["", "type=fill"],
}


def read_paths(api_schema: dict) -> list[str]:
    """Every GET path of the bot API in the schema."""
    return sorted(path for path, operations in api_schema["paths"].items()
                  if path.startswith("/api/v1/") and "get" in operations)


def read_urls(api_schema: dict, slug: str) -> list[tuple[str, str]]:
    """(path as the schema names it, URL to GET) for every read of the API."""
    out = []
    for path in read_paths(api_schema):
        url = path.replace("{slug}", slug)
        if "{key}" in url:
            url = url.replace("{key}", KEYS["{key}"][path])
        for query in QUERIES.get(path, [""]):
            out.append((path, f"{url}?{query}" if query else url))
    return out
