"""Reading a hummingbot trades database: everything (import_hummingbot), or what changed since a cursor.

hummingbot's tables have no row numbers to follow (their keys are text), so a pass
reads by time: fills by `TradeFill.timestamp`, orders by `Order.last_update_timestamp`
(every change of an order stamps it), funding payments by their `timestamp`, each from
the newest time booked at the last pass minus LOOKBACK. The look-back catches a row
written late with an earlier time (a fill's time is the exchange's; the bot may record
it seconds later); rows re-read are already booked and left out by the sync. A fill
that reaches the database more than LOOKBACK after its own time (a bot offline for
hours, catching up) is read by `sync_source --full`, which re-reads everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from trades.ingest.formats import hummingbot as translator
from trades.sources.batches import Batch, Group
from trades.sources.db import Reader, StoreDatabase, StoreError, in_list

LOOKBACK_MS = 3600 * 1000
CHUNK = 5000
FILL_ORDER = '"timestamp", "market", "order_id", "exchange_trade_id"'


class HummingbotReader:
    def __init__(self, db: StoreDatabase, cursor: dict, *, bot: str | None = None, chunk: int = CHUNK):
        self.db = db
        self.cursor = dict(cursor or {})
        self.bot = bot
        self.chunk = chunk
        self.total: int | None = None
        self.source_newest: datetime | None = None

    def batches(self) -> Iterator[Batch]:
        c = self.cursor
        with self.db.read() as r:
            tables = r.tables()
            if "TradeFill" not in tables:
                raise StoreError(f"{self.db.where}: not a hummingbot trades database (no 'TradeFill' table)")
            has_orders, has_funding = "Order" in tables, "FundingPayment" in tables
            self.has_events = "OrderStatus" in tables
            newest = [r.value('SELECT MAX("timestamp") FROM "TradeFill"')]
            if has_orders:
                newest.append(r.value('SELECT MAX("last_update_timestamp") FROM "Order"'))
            if has_funding:
                # FundingPayment.timestamp is the event's time in seconds (hummingbot stores it as is).
                funded = r.value('SELECT MAX("timestamp") FROM "FundingPayment"')
                newest.append(_ms(funded))
            self.source_newest = _time_ms(max((n for n in newest if n is not None), default=None))
            counts = [r.value('SELECT COUNT(*) FROM "TradeFill" WHERE "timestamp" >= ?', (_since(c, "fill_ts"),))]
            if has_orders:
                counts.append(r.value('SELECT COUNT(*) FROM "Order" WHERE "last_update_timestamp" >= ?',
                                      (_since(c, "order_ts"),)))
            self.total = sum(int(n or 0) for n in counts)
        yield from self._fills()
        if has_orders:
            yield from self._orders()
        if has_funding:
            yield from self._funding()
        yield Batch(groups=[], cursor=dict(self.cursor))

    def _fills(self) -> Iterator[Batch]:
        with self.db.read() as r:
            rows = r.stream(f'SELECT * FROM "TradeFill" WHERE "timestamp" >= ? ORDER BY {FILL_ORDER}',
                            (_since(self.cursor, "fill_ts"),), size=self.chunk)
            for chunk in _chunks(rows, self.chunk):
                batch = Batch(groups=[], cursor={}, rows=len(chunk))
                for row in chunk:
                    key = f"fill {row.get('exchange_trade_id')}"
                    try:
                        batch.groups.append(Group(key, key, [translator.fill_item(row, bot=self.bot)]))
                    except ValueError as exc:
                        batch.errors.append((key, key, _message(exc)))
                newest = max(int(row["timestamp"]) for row in chunk)
                self.cursor["fill_ts"] = max(newest, self.cursor.get("fill_ts", 0))
                batch.newest, batch.cursor = _time_ms(newest), dict(self.cursor)
                yield batch

    def _orders(self) -> Iterator[Batch]:
        with self.db.read() as r:
            rows = r.stream('SELECT * FROM "Order" WHERE "last_update_timestamp" >= ? '
                            'ORDER BY "last_update_timestamp", "id"', (_since(self.cursor, "order_ts"),),
                            size=self.chunk)
            for chunk in _chunks(rows, self.chunk):
                sides = self._sides(r, [row["id"] for row in chunk])
                batch = Batch(groups=[], cursor={}, rows=len(chunk))
                for row in chunk:
                    key = f"order {row.get('id')}"
                    try:
                        item = translator.order_item(row, side=sides.get(row["id"]), bot=self.bot)
                        batch.groups.append(Group(key, key, [item]))
                    except ValueError as exc:
                        batch.errors.append((key, key, _message(exc)))
                newest = max(int(row["last_update_timestamp"]) for row in chunk)
                self.cursor["order_ts"] = max(newest, self.cursor.get("order_ts", 0))
                batch.newest, batch.cursor = _time_ms(newest), dict(self.cursor)
                yield batch

    def _sides(self, r: Reader, ids: list[str]) -> dict[str, str]:
        """Each order's side, from its events (`BuyOrderCreated`…), else from its fills."""
        events: dict[str, list[str]] = {}
        fills: dict[str, str] = {}
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            if self.has_events:
                for row in r.rows(f'SELECT "order_id", "status" FROM "OrderStatus" WHERE "order_id" IN {in_list(part)} '
                                  'ORDER BY "timestamp"', part):
                    events.setdefault(row["order_id"], []).append(row["status"])
            for row in r.rows(f'SELECT "order_id", "trade_type" FROM "TradeFill" WHERE "order_id" IN {in_list(part)}',
                              part):
                fills.setdefault(row["order_id"], str(row["trade_type"] or "").lower())
        out = {}
        for order_id in ids:
            side = translator.side_from_events(events.get(order_id, ())) or fills.get(order_id)
            if side:
                out[order_id] = side
        return out

    def _funding(self) -> Iterator[Batch]:
        since = self.cursor.get("funding_ts")
        since = since - LOOKBACK_MS // 1000 if since is not None else -1
        with self.db.read() as r:
            rows = r.stream('SELECT * FROM "FundingPayment" WHERE "timestamp" >= ? ORDER BY "timestamp", "market", '
                            '"symbol"', (since,), size=self.chunk)
            for chunk in _chunks(rows, self.chunk):
                batch = Batch(groups=[], cursor={}, rows=len(chunk))
                for row in chunk:
                    key = f"funding {row.get('market')} {row.get('symbol')} {row.get('timestamp')}"
                    try:
                        batch.groups.append(Group(key, key, [translator.funding_item(
                            row, bot=self.bot or translator.bot_key(row))]))
                    except ValueError as exc:
                        batch.errors.append((key, key, _message(exc)))
                newest = max(int(row["timestamp"]) for row in chunk)
                self.cursor["funding_ts"] = max(newest, self.cursor.get("funding_ts", 0))
                batch.newest, batch.cursor = _time_ms(_ms(newest)), dict(self.cursor)
                yield batch


def read_everything(db: StoreDatabase, *, bot: str | None = None) -> Iterator[Batch]:
    """Every row of the database (import_hummingbot), in batches; the caller books them all or nothing."""
    return HummingbotReader(db, {}, bot=bot).batches()


def _chunks(rows, size: int) -> Iterator[list[dict]]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _since(cursor: dict, name: str) -> int:
    value = cursor.get(name)
    return -1 if value is None else int(value) - LOOKBACK_MS


def _ms(value) -> int | None:
    """A time column in seconds or milliseconds → milliseconds (SPEC 3's rule: below 10^11 is seconds)."""
    if value is None:
        return None
    value = int(value)
    return value * 1000 if value < 10**11 else value


def _time_ms(value) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(int(value) / 1000, tz=UTC)


def _message(exc: Exception) -> str:
    return f"{exc.args[0]}: {exc.args[1]}" if len(exc.args) == 2 else str(exc)
