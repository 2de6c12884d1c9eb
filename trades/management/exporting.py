"""Rows → the items they were posted as, for `export` (streamed, exact decimals).

JSONL lines are canonical items with "type" (SPEC 4.1), so `import_events` takes an
export back as it is; fields ingest kept in `meta` come back as the top-level fields
they were posted as. CSV has one column per field; for fills its header is what
`import_csv` reads. Rows are read oldest first with `.iterator()`, never all in memory.
"""

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal

import orjson
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast

from accounts.models import Account
from core.amounts import decimal_str
from core.exact_json import loads_stored
from snapshots.models import EquitySnapshot, Mark, PositionSnapshot, WalletSnapshot
from trades.models import Event, Fill, Signal, Trade

CHUNK = 2000
WHAT = ("fills", "trades", "signals", "snapshots", "events")

FILL_FIELDS = ["id", "symbol", "side", "price", "quantity", "fee", "fee_currency", "fees", "order_id", "trade_id",
               "is_maker", "executed_at", "reported_pnl", "reason", "source", "bot"]
FILL_CSV = FILL_FIELDS + ["meta", "account", "received_at", "voided_at", "void_reason"]
TRADE_OPEN_FIELDS = ["id", "symbol", "side", "quantity", "entry_price", "entry_time", "leverage", "margin",
                     "sl_price", "tp_price", "trail_percent", "model", "confidence", "strategy", "regime", "entry_fee",
                     "order_id", "metadata", "bot"]
TRADE_CLOSE_FIELDS = ["exit_price", "exit_time", "close_reason", "exit_fee", "reported_pnl"]
TRADE_CSV = TRADE_OPEN_FIELDS + ["status"] + TRADE_CLOSE_FIELDS + ["pnl", "meta", "account", "opened_at",
                                                                   "closed_at"]
SIGNAL_FIELDS = ["id", "symbol", "value", "generated_at", "strength", "strategy", "metadata", "bot"]
SIGNAL_CSV = SIGNAL_FIELDS + ["meta", "account", "received_at"]
SNAPSHOT_CSV = ["type", "source", "bot", "symbol", "coin", "side", "size", "entry_price", "mark_price", "liq_price",
                "unrealized_pnl", "realized_pnl", "leverage", "wallet_balance", "available_balance", "equity", "cash",
                "positions_value", "positions_count", "total_trades", "initial_capital", "returns_pct", "fees",
                "funding", "price", "exchange_ts", "ts", "bucket", "meta", "account", "received_at"]
EVENT_CSV = ["received_at", "type", "id", "outcome", "channel", "bot", "token", "account", "raw"]


def text(value):
    """A value as JSON/CSV shows it: exact decimal strings, ISO 8601 UTC times."""
    if isinstance(value, Decimal):
        return decimal_str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def _bot(row) -> str | None:
    return row.bot.key if row.bot_id else None


def _with_meta(item: dict, meta: dict) -> dict:
    """Fields ingest kept in meta were posted at the top level: put them back there."""
    for key, value in (meta or {}).items():
        item.setdefault(key, value)
    return item


def _clean(item: dict) -> dict:
    return {k: text(v) for k, v in item.items() if v is not None and v != ""}


def fill_item(f: Fill) -> dict:
    item = {"type": "fill", "id": f.external_id, "symbol": f.symbol, "side": f.side, "price": f.price,
            "quantity": f.quantity, "order_id": f.order_id, "trade_id": f.trade_id, "is_maker": f.is_maker,
            "executed_at": f.executed_at, "reported_pnl": f.reported_pnl, "reason": f.reason, "source": f.source,
            "bot": _bot(f)}
    if f.other_fees:
        # A fill that pays several fees was posted as `fees`: the first is fee/fee_currency.
        item["fees"] = [{"amount": decimal_str(f.fee), "currency": f.fee_currency}] + list(f.other_fees)
    else:
        item["fee"] = f.fee
        item["fee_currency"] = f.fee_currency
    return _clean(_with_meta(item, f.meta))


def fill_void_item(f: Fill) -> dict:
    return {"type": "fill.void", "id": f.external_id, "symbol": f.symbol, "reason": f.void_reason or "void"}


def trade_items(t: Trade) -> list[dict]:
    opening = {"type": "trade.open", "bot": _bot(t), **{name: getattr(t, name) for name in TRADE_OPEN_FIELDS
                                                         if name not in ("id", "bot")}}
    opening["id"] = t.external_id
    if not opening["metadata"]:
        opening.pop("metadata")
    items = [_clean(_with_meta(opening, t.meta))]
    if t.status == Trade.Status.CLOSED:
        closing = {"type": "trade.close", "id": t.external_id, "bot": _bot(t),
                   **{name: getattr(t, name) for name in TRADE_CLOSE_FIELDS}}
        items.append(_clean(closing))
    return items


def signal_item(s: Signal) -> dict:
    item = {"type": "signal", "id": s.external_id, "symbol": s.symbol, "value": s.value,
            "generated_at": s.generated_at, "strength": s.strength, "strategy": s.strategy,
            "metadata": s.metadata or None, "bot": _bot(s)}
    return _clean(_with_meta(item, s.meta))


def position_item(p: PositionSnapshot) -> dict:
    item = {"type": "position", "symbol": p.symbol, "side": p.side, "size": p.size, "entry_price": p.entry_price,
            "mark_price": p.mark_price, "liq_price": p.liq_price, "unrealized_pnl": p.unrealized_pnl,
            "leverage": p.leverage, "exchange_ts": p.exchange_ts, "bot": _bot(p)}
    return _clean(_with_meta(item, p.meta))


def wallet_item(w: WalletSnapshot) -> dict:
    item = {"type": "wallet", "coin": w.coin, "wallet_balance": w.wallet_balance,
            "available_balance": w.available_balance, "equity": w.equity, "exchange_ts": w.exchange_ts,
            "bot": _bot(w)}
    return _clean(_with_meta(item, w.meta))


def equity_item(e: EquitySnapshot) -> dict:
    item = {"type": "equity", "equity": e.equity, "cash": e.cash, "positions_value": e.positions_value,
            "positions_count": e.positions_count, "total_trades": e.total_trades, "returns_pct": e.returns_pct,
            "initial_capital": e.initial_capital, "exchange_ts": e.exchange_ts, "bot": _bot(e)}
    return _clean(_with_meta(item, e.meta))


def mark_item(m: Mark) -> dict:
    return _clean({"type": "mark", "symbol": m.symbol, "price": m.price, "ts": m.ts, "bot": _bot(m)})


def exact_raw(e: Event):
    """The journaled JSON with every digit: Django would decode its numbers as floats."""
    raw_text = getattr(e, "raw_text", None)
    return loads_stored(raw_text) if isinstance(raw_text, str) else e.raw


def events_of(account: Account) -> Iterator[Event]:
    return (account.events.select_related("bot", "token").annotate(raw_text=Cast("raw", TextField()))
            .order_by("received_at", "id").iterator(chunk_size=CHUNK))


def event_item(e: Event) -> dict:
    """The journaled item as posted, with its type: what `import_events` takes back."""
    raw = exact_raw(e)
    raw = raw if isinstance(raw, dict) else {"value": raw}
    # The export is of one account: the line is imported into whichever account import_events names.
    raw = {k: v for k, v in raw.items() if k != "account"}
    return raw if "type" in raw else {"type": e.type, **raw}


def _rows(queryset: QuerySet, *order) -> Iterator:
    return queryset.select_related("bot").order_by(*order).iterator(chunk_size=CHUNK)


def jsonl_items(account: Account, what: str) -> Iterator[dict]:
    """The account's items of one kind, oldest first, as canonical items."""
    if what == "fills":
        for f in _rows(account.fills.all(), "executed_at", "id"):
            yield fill_item(f)
            if f.voided_at is not None:
                yield fill_void_item(f)
    elif what == "trades":
        for t in _rows(account.trades.all(), "entry_time", "id"):
            yield from trade_items(t)
    elif what == "signals":
        for s in _rows(account.signals.all(), "generated_at", "id"):
            yield signal_item(s)
    elif what == "snapshots":
        # Reported snapshots only: computed ones are the server's and are recomputed, not imported.
        for m in _rows(account.marks.all(), "ts", "id"):
            yield mark_item(m)
        for p in _rows(account.position_snapshots.filter(source="reported"), "exchange_ts", "id"):
            yield position_item(p)
        for w in _rows(account.wallet_snapshots.all(), "exchange_ts", "id"):
            yield wallet_item(w)
        for e in _rows(account.equity_snapshots.filter(source="reported"), "exchange_ts", "id"):
            yield equity_item(e)
    elif what == "events":
        for e in events_of(account):
            yield event_item(e)
    else:
        raise ValueError(what)


def csv_rows(account: Account, what: str) -> tuple[list[str], Iterator[dict]]:
    """Header and rows (dicts of column → value) of one kind, oldest first."""
    if what == "fills":
        def fills():
            for f in _rows(account.fills.all(), "executed_at", "id"):
                item = fill_item(f)
                row = {k: item.get(k) for k in FILL_FIELDS}
                row["meta"] = f.meta or None
                row.update(account=account.slug, received_at=f.received_at, voided_at=f.voided_at,
                           void_reason=f.void_reason)
                yield row
        return FILL_CSV, fills()
    if what == "trades":
        def trades():
            for t in _rows(account.trades.all(), "entry_time", "id"):
                row = {name: getattr(t, name) for name in TRADE_CSV if name not in ("id", "bot", "account")}
                row.update(id=t.external_id, bot=_bot(t), account=account.slug)
                yield row
        return TRADE_CSV, trades()
    if what == "signals":
        def signals():
            for s in _rows(account.signals.all(), "generated_at", "id"):
                yield {"id": s.external_id, "symbol": s.symbol, "value": s.value, "generated_at": s.generated_at,
                       "strength": s.strength, "strategy": s.strategy, "metadata": s.metadata or None,
                       "bot": _bot(s), "meta": s.meta or None, "account": account.slug, "received_at": s.received_at}
        return SIGNAL_CSV, signals()
    if what == "snapshots":
        def snapshots():
            for queryset, kind, order in (
                (account.marks.all(), "mark", "ts"),
                (account.position_snapshots.all(), "position", "exchange_ts"),
                (account.wallet_snapshots.all(), "wallet", "exchange_ts"),
                (account.equity_snapshots.all(), "equity", "exchange_ts"),
            ):
                for row in _rows(queryset, order, "id"):
                    values = {name: getattr(row, name, None) for name in SNAPSHOT_CSV
                              if name not in ("type", "bot", "account")}
                    values.update(type=kind, bot=_bot(row), account=account.slug)
                    values["meta"] = values.get("meta") or None
                    yield values
        return SNAPSHOT_CSV, snapshots()
    if what == "events":
        def events():
            for e in events_of(account):
                yield {"received_at": e.received_at, "type": e.type, "id": e.item_key, "outcome": e.outcome,
                       "channel": e.channel, "bot": _bot(e), "token": e.token.name if e.token_id else None,
                       "account": account.slug, "raw": exact_raw(e)}
        return EVENT_CSV, events()
    raise ValueError(what)


def _dumps(value) -> bytes:
    return orjson.dumps(value, default=_json_default)


def _json_default(value):
    if isinstance(value, Decimal):
        return decimal_str(value)
    raise TypeError


def write_jsonl(items: Iterable[dict], out) -> int:
    count = 0
    for item in items:
        out.write(_dumps(item).decode() + "\n")
        count += 1
    return count


def write_csv(header: list[str], rows: Iterable[dict], out) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow([_cell(row.get(name)) for name in header])
        count += 1
    return count


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return _dumps(value).decode()
    value = text(value)
    return value if isinstance(value, str) else str(value)
