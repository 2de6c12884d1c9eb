"""Reading a freqtrade database: everything (import_freqtrade), or what changed since a cursor (a source).

freqtrade changes rows after they were first written: an open trade gets further entries,
partial exits and finally its exit orders and `is_open = 0`; an open order fills later.
Every such change rewrites an order row, and freqtrade stamps it then
(`order_update_date = now` when it reads the order from the exchange). So a pass re-reads:

- every trade newer than the cursor's `trade_id` (new trades, in id order, in chunks);
- every trade open now, and every trade that was open at the last pass (it may have closed);
- every trade with an order newer than the cursor's `order_id`, or updated since the
  newest `order_update_date` seen at the last pass minus LOOKBACK — a write that took
  its time to commit (an id or time taken before another's, committed after it) is
  still read (one scan of the orders: freqtrade has no index on that column, and we
  add none to a bot's database);
- the trades refused at the last pass (they may be accepted now).

The cursor (JSON, kept on the Source) holds those watermarks; the new-trade watermark
moves with each chunk booked, the others once the pass is done. Re-reading is safe: the
items' keys are freqtrade's ids, and the sync skips items already booked.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from core.errors import TradebookError
from core.times import parse_time
from trades.ingest.formats import freqtrade as translator
from trades.sources.batches import Batch, Group
from trades.sources.db import Reader, StoreDatabase, StoreError, in_list

LOOKBACK = timedelta(minutes=10)
# Trades per chunk: a chunk's rows are read in one read transaction and booked in one of ours.
CHUNK = 2000
IN_CHUNK = 500  # ids per IN (…) list


class FreqtradeReader:
    """One pass over a freqtrade database, from `cursor` (empty: from the start)."""

    def __init__(self, db: StoreDatabase, cursor: dict, *, bot: str | None = None, chunk: int = CHUNK):
        self.db = db
        self.cursor = dict(cursor or {})
        self.bot = bot
        self.chunk = chunk
        self.total: int | None = None  # trades this pass reads, once `batches` started
        self.source_newest: datetime | None = None

    def batches(self) -> Iterator[Batch]:
        with self.db.read() as r:
            tables = r.tables()
            if "trades" not in tables:
                raise StoreError(f"{self.db.where}: not a freqtrade database (no 'trades' table)")
            self.has_orders = "orders" in tables
            plan = self._plan(r)
        self.total = len(plan["reread"]) + plan["new_count"]
        open_now: set[int] = set()
        reread = sorted(plan["reread"])
        for start in range(0, len(reread), self.chunk):
            ids = reread[start:start + self.chunk]
            with self.db.read() as r:
                batch = self._batch(r, self._trades_by_id(r, ids), dict(self.cursor))
            open_now |= batch.open_ids
            yield batch
        last = self.cursor.get("trade_id", 0)
        while last < plan["max_trade_id"]:
            with self.db.read() as r:
                rows = r.rows('SELECT * FROM "trades" WHERE "id" > ? AND "id" <= ? ORDER BY "id" LIMIT ?',
                              (last, plan["max_trade_id"], self.chunk))
                if not rows:
                    break
                last = rows[-1]["id"]
                batch = self._batch(r, rows, {**self.cursor, "trade_id": last})
            open_now |= batch.open_ids
            self.cursor["trade_id"] = last
            yield batch
        # The pass is done: the other watermarks move to what this pass started from.
        final = {**self.cursor, "trade_id": max(last, self.cursor.get("trade_id", 0)),
                 "order_id": plan["max_order_id"], "updated": plan["max_updated"], "open": sorted(open_now),
                 "source_newest": self.source_newest.isoformat() if self.source_newest else None}
        yield Batch(groups=[], cursor=final, newest=None)

    # -- the plan of a pass --------------------------------------------------------------------------

    def _plan(self, r: Reader) -> dict:
        c = self.cursor
        trade_id = c.get("trade_id", 0)
        max_trade_id = r.value('SELECT MAX("id") FROM "trades"') or 0
        reread: set[int] = set()
        max_order_id, max_updated = c.get("order_id", 0), c.get("updated")
        if self.has_orders:
            max_order_id = r.value('SELECT MAX("id") FROM "orders"') or 0
            max_updated = _text_time(r.value('SELECT MAX("order_update_date") FROM "orders"')) or max_updated
        # The store's newest time, for the lag: that of the rows this pass reads (every row that changed
        # is read), or the last pass's when nothing changed.
        self.source_newest = _as_time(c.get("source_newest"))
        if trade_id:  # a first pass reads every trade as new
            reread.update(row["id"] for row in r.rows('SELECT "id" FROM "trades" WHERE "is_open" = ?', (True,)))
            reread.update(int(i) for i in c.get("open", ()))
            reread.update(int(i) for i in c.get("rejected", {}))
            since = _text_time(_as_time(c.get("updated")) - LOOKBACK) if c.get("updated") else None
            if self.has_orders:
                if since is not None:
                    rows = r.rows('SELECT DISTINCT "ft_trade_id" FROM "orders" WHERE "id" > ? OR "order_update_date" >= ?',
                                  (c.get("order_id", 0), since))
                else:
                    rows = r.rows('SELECT DISTINCT "ft_trade_id" FROM "orders" WHERE "id" > ?', (c.get("order_id", 0),))
                reread.update(row["ft_trade_id"] for row in rows if row["ft_trade_id"] is not None)
            if since is not None and not self.has_orders:  # freqtrade before its orders table: closes by date
                reread.update(row["id"] for row in r.rows('SELECT "id" FROM "trades" WHERE "close_date" >= ?', (since,)))
            reread = {i for i in reread if i <= trade_id}
        return {"reread": reread, "new_count": max(0, max_trade_id - trade_id), "max_trade_id": max_trade_id,
                "max_order_id": max_order_id, "max_updated": max_updated}

    # -- rows ----------------------------------------------------------------------------------------

    def _trades_by_id(self, r: Reader, ids: list[int]) -> list[dict]:
        rows = []
        for start in range(0, len(ids), IN_CHUNK):
            part = ids[start:start + IN_CHUNK]
            rows.extend(r.rows(f'SELECT * FROM "trades" WHERE "id" IN {in_list(part)} ORDER BY "id"', part))
        return rows

    def _orders_of(self, r: Reader, trades: list[dict]) -> dict | None:
        if not self.has_orders or not trades:
            return None if not self.has_orders else {}
        ids = [t["id"] for t in trades]
        lo, hi = min(ids), max(ids)
        if hi - lo < 4 * len(ids):  # a run of ids (new trades): one range scan
            rows = r.rows('SELECT * FROM "orders" WHERE "ft_trade_id" BETWEEN ? AND ? ORDER BY "id"', (lo, hi))
        else:
            rows = []
            for start in range(0, len(ids), IN_CHUNK):
                part = ids[start:start + IN_CHUNK]
                rows.extend(r.rows(f'SELECT * FROM "orders" WHERE "ft_trade_id" IN {in_list(part)} ORDER BY "id"',
                                   part))
        return translator.group_orders(rows)

    def _batch(self, r: Reader, trades: list[dict], cursor: dict) -> Batch:
        by_trade = self._orders_of(r, trades)
        batch = Batch(groups=[], cursor=cursor, rows=len(trades))
        for t in trades:
            orders = None if by_trade is None else by_trade.get(t["id"], [])
            try:
                made = translator.translate_trade(t, orders, bot=self.bot)
            except Exception as exc:  # noqa: BLE001 - a bad row is refused alone, named, never the whole pass
                batch.errors.append((t.get("id"), f"trade {t.get('id')}", _message(exc)))
                continue
            batch.groups.append(Group(t["id"], f"trade {t['id']}", made.items))
            if translator._flag(t.get("is_open")):
                batch.open_ids.add(t["id"])
            when = max((x for x in (_as_time(t.get("open_date")), _as_time(t.get("close_date")),
                                    *(_as_time(o.get("order_update_date")) for o in orders or ()))
                        if x is not None), default=None)
            if when is not None and (batch.newest is None or when > batch.newest):
                batch.newest = when
            if when is not None and (self.source_newest is None or when > self.source_newest):
                self.source_newest = when
        return batch


def read_everything(db: StoreDatabase, *, bot: str | None = None) -> list[translator.TradeItems]:
    """Every trade of the database and its items, in one read (import_freqtrade): all or nothing."""
    with db.read() as r:
        tables = r.tables()
        if "trades" not in tables:
            raise StoreError(f"{db.where}: not a freqtrade database (no 'trades' table)")
        trades = r.rows('SELECT * FROM "trades" ORDER BY "id"')
        orders = r.rows('SELECT * FROM "orders" ORDER BY "id"') if "orders" in tables else None
    return translator.translate(trades, orders, bot=bot)


def _message(exc: Exception) -> str:
    if isinstance(exc, TradebookError):
        return "; ".join(e["message"] for e in exc.errors)
    if len(exc.args) == 2:
        return f"{exc.args[0]}: {exc.args[1]}"
    return str(exc)


def _as_time(value) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return parse_time(value.isoformat(), bounded=False)
    return parse_time(str(value), bounded=False)


def _text_time(value) -> str | None:
    """A time as freqtrade's SQLite text stores it ('YYYY-MM-DD HH:MM:SS.ffffff', naive UTC): it
    compares correctly with the column there, and reads as a timestamp on PostgreSQL."""
    when = _as_time(value)
    return None if when is None else when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
