"""Checked items -> rows, inside the caller's transaction.

Keyed items (fills, cash flows, marks, snapshots, signals with an id, trade opens)
are written in bulk: INSERT … ON CONFLICT DO NOTHING RETURNING, one statement per
part of the request as it is checked, then the keys not inserted are read back and
their booked content compared (a duplicate, or a conflict). Items with a life
(orders, trade updates and closes, voids) are applied in the order posted, under
row locks.

Every function here records each item's outcome on the Item and appends 409/404
problems to `problems`; the caller decides to commit or roll back.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext

from django.db import connection, models, transaction

from accounts.models import Account, Bot
from accounts.values import AMOUNT_CONTEXT, AMOUNT_LIMIT, AMOUNT_QUANTUM, decimal_str
from snapshots.models import EquitySnapshot, Mark, PositionSnapshot, WalletSnapshot
from trades.ingest.sql import (
    full_row,
    insert_rows,
    json_expression,
    json_merge_expression,
    run_prepared,
    send_rows,
)
from trades.ingest.validate import Item
from trades.models import CashFlow, Fill, Order, Signal, Trade

CREATED, DUPLICATE, UPDATED = "created", "duplicate", "updated"


class RetryRequest(Exception):
    """A concurrent writer won a race this request cannot settle in place: run it again."""


@dataclass(frozen=True)
class Keyed:
    """How one keyed item type is stored."""

    model: type[models.Model]
    key: tuple[str, ...]  # attnames that, with the account, identify the row
    prefilter: tuple[str, ...]  # key attnames used in the SQL look-up (`__in`)
    booked: tuple[str, ...]  # attnames compared for duplicate vs conflict
    fixed: tuple[tuple[str, object], ...] = ()  # columns every row of this type has (e.g. source)


KEYED: dict[str, Keyed] = {
    "fill": Keyed(Fill, ("symbol", "external_id"), ("external_id", "symbol"),
                  ("symbol", "side", "price", "quantity", "fee", "fee_currency", "other_fees", "executed_at")),
    "cashflow": Keyed(CashFlow, ("external_id",), ("external_id",), ("kind", "amount", "currency", "symbol", "ts")),
    "mark": Keyed(Mark, ("symbol", "ts"), ("symbol", "ts"), ("price",)),
    "position": Keyed(PositionSnapshot, ("symbol", "exchange_ts"), ("symbol", "exchange_ts"),
                      ("side", "size", "entry_price", "mark_price", "liq_price", "unrealized_pnl", "realized_pnl",
                       "leverage"), (("source", "reported"),)),
    "wallet": Keyed(WalletSnapshot, ("coin", "exchange_ts"), ("coin", "exchange_ts"),
                    ("wallet_balance", "available_balance", "equity")),
    "equity": Keyed(EquitySnapshot, ("bot_id", "exchange_ts"), ("exchange_ts",),
                    ("equity", "cash", "positions_value", "positions_count", "total_trades", "initial_capital",
                     "returns_pct", "realized_pnl", "unrealized_pnl", "fees", "funding"), (("source", "reported"),)),
    "signal": Keyed(Signal, ("external_id",), ("external_id",), ("symbol", "value", "generated_at", "strength")),
    "trade.open": Keyed(Trade, ("external_id",), ("external_id",),
                        ("symbol", "side", "quantity", "entry_price", "entry_time", "entry_fee")),
}

# The order keyed types are written in; items with a life follow, in posted order.
KEYED_ORDER = ("fill", "cashflow", "mark", "position", "wallet", "equity", "signal", "trade.open")


# Bot ids already committed, per process: {(account id, bot key): id}. A bot is looked up once,
# not on every request that names it. Entries are added only when the transaction that read or
# created the row commits, and a bot that ever posted has journal rows, so Django refuses to
# delete it (RESTRICT): an entry cannot go stale through the application.
_KNOWN_BOTS: dict[tuple[int, str], int] = {}
_KNOWN_BOTS_MAX = 100_000


def register_bots(items: Sequence[Item]) -> None:
    """Bot rows for every (account, bot key) posted, created on first sight; race-safe."""
    wanted: dict[int, set[str]] = defaultdict(set)
    for item in items:
        if item.bot_key:
            wanted[item.account.pk].add(item.bot_key)
    if not wanted:
        return
    ids: dict[tuple[int, str], int] = {}
    learned: dict[tuple[int, str], int] = {}
    for account_id, keys in wanted.items():
        unknown = set()
        for key in keys:
            pk = _KNOWN_BOTS.get((account_id, key))
            if pk is None:
                unknown.add(key)
            else:
                ids[(account_id, key)] = pk
        if not unknown:
            continue
        found = _bot_ids(account_id, unknown)
        missing = unknown - found.keys()
        if missing:
            # ignore_conflicts: a concurrent first post of the same bot is not an error.
            Bot.objects.bulk_create([Bot(account_id=account_id, key=k) for k in sorted(missing)],
                                    ignore_conflicts=True)
            found.update(_bot_ids(account_id, missing))
        learned.update({(account_id, k): pk for k, pk in found.items()})
    ids.update(learned)
    if learned:
        transaction.on_commit(lambda: _remember_bots(learned))
    for item in items:
        if item.bot_key:
            item.bot_id = ids[(item.account.pk, item.bot_key)]


def _remember_bots(learned: dict[tuple[int, str], int]) -> None:
    if len(_KNOWN_BOTS) + len(learned) > _KNOWN_BOTS_MAX:
        _KNOWN_BOTS.clear()
    _KNOWN_BOTS.update(learned)


def forget_bots() -> None:
    """Drop the remembered bot ids (a bot deleted behind the application's back)."""
    _KNOWN_BOTS.clear()


def _bot_ids(account_id: int, keys: set[str]) -> dict[str, int]:
    """{key: pk} of these bots (plain SQL: this runs on every request that names a bot)."""
    quote = connection.ops.quote_name
    sql = (f"SELECT {quote('key')}, {quote('id')} FROM {quote(Bot._meta.db_table)} "
           f"WHERE {quote('account_id')} = %s AND {quote('key')} IN ({', '.join(['%s'] * len(keys))})")
    return dict(run_prepared(sql, [account_id, *sorted(keys)]))


# --- comparing ----------------------------------------------------------------

def _comparable(attname: str, value):
    if attname == "other_fees":
        return tuple((Decimal(str(f.get("amount", "0"))), f.get("currency", "")) for f in value or ())
    if isinstance(value, Decimal):
        return value.normalize(AMOUNT_CONTEXT) if value else Decimal(0)
    return value


def _shown(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, Decimal):
        return decimal_str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return ", ".join(f"{decimal_str(a)} {c}".strip() for a, c in value) or "none"
    return str(value)


def differences(booked: Sequence[str], stored: dict, posted: dict) -> list[tuple[str, object, object]]:
    """(attname, stored, posted) for every booked column that differs, compared as decimals."""
    out = []
    for name in booked:
        a, b = _comparable(name, stored.get(name)), _comparable(name, posted.get(name))
        if a != b:
            out.append((name, a, b))
    return out


def conflict_errors(item: Item, diffs, what: str) -> list[dict]:
    names = {f.attname: f.name for f in item.type.fields}
    names["other_fees"] = "fees"
    if "fees" in item.posted:  # fee/fee_currency came from the posted `fees` list
        names.update(fee="fees", fee_currency="fees")
    return [{"index": item.index, "field": names.get(att, att),
             "message": f"{what} exists with different {names.get(att, att)}: stored {_shown(a)}, "
                        f"posted {_shown(b)}; the stored row is unchanged"}
            for att, a, b in diffs]


def _describe_key(item: Item, spec: Keyed) -> str:
    if "id" in item.posted and "external_id" in spec.key:
        return f"{item.type.name} {item.posted['id']!r}"
    parts = [_shown(item.values.get(k)) for k in spec.key if k != "bot_id"]
    return f"{item.type.name} ({', '.join(parts)})"


# --- keyed items --------------------------------------------------------------

def _row_values(item: Item, spec: Keyed, received_at: datetime) -> dict:
    """The full row of one keyed item: every column, defaults overridden by the item's values
    (every keyed model has an account and a bot column)."""
    row = full_row(spec.model, item.values)
    row["account_id"] = item.account.pk
    row["bot_id"] = item.bot_id
    for name, value in spec.fixed:
        row[name] = value
    has_received_at, has_meta = _ROW_EXTRAS[spec.model]
    if has_received_at:
        row["received_at"] = received_at
    if has_meta:
        row["meta"] = item.meta
    if spec.model is Trade:
        row.update(status=Trade.Status.OPEN, opened_at=received_at, updated_at=received_at)
    return row


# Per model: (has a received_at column, has a meta column), looked up once, not per row.
_ROW_EXTRAS = {spec.model: tuple(name in {f.attname for f in spec.model._meta.concrete_fields}
                                 for name in ("received_at", "meta"))
               for spec in KEYED.values()}


def _defaults(model: type[models.Model], booked: Sequence[str]) -> dict:
    return {name: model._meta.get_field(name).get_default() for name in booked}


class KeyedWriter:
    """One account's keyed items of one type, written as the request is checked: each part is
    sent as one INSERT (`add`, which does not wait for it inside `sql.pipelined()`), and every
    outcome is settled once all are sent (`finish`)."""

    def __init__(self, *, account: Account, type_name: str, received_at: datetime, problems: list[dict],
                 created_rows: dict[str, list]):
        self.account, self.type_name, self.received_at = account, type_name, received_at
        self.problems, self.created_rows = problems, created_rows
        self.spec = KEYED[type_name]
        self.defaults = _defaults(self.spec.model, self.spec.booked)
        self.first: dict[tuple, Item] = {}  # key -> the item that counts for it
        self.repeats: list[Item] = []  # items whose key came earlier in the request, with equal content
        self.sent: list[tuple[list[Item], list[dict], Callable[[], list[tuple]], bool]] = []

    def _booked(self, item: Item) -> dict:  # what is compared: built only when a key repeats or is taken
        return {**self.defaults, **item.values}

    def add(self, items: list[Item]) -> None:
        spec, type_name = self.spec, self.type_name
        keyless: list[Item] = []
        new: list[Item] = []
        for item in items:
            if type_name == "equity":
                item.values["bot_id"] = item.bot_id
            if type_name == "signal" and item.values.get("external_id") is None:
                keyless.append(item)
                continue
            key = tuple(map(item.values.get, spec.key))
            item.extra["key"] = key
            earlier = self.first.get(key)
            if earlier is None:
                self.first[key] = item
                new.append(item)
                continue
            # The same key twice in one request: the first one counts, the second is compared to it.
            diffs = differences(spec.booked, self._booked(earlier), self._booked(item))
            if diffs:
                self.problems.extend(conflict_errors(item, diffs, f"{_describe_key(item, spec)} (item {earlier.index})"))
            else:
                item.outcome = DUPLICATE
                item.extra["same_as"] = earlier
                self.repeats.append(item)
        # Insert first, read back later only the keys that were not inserted: a new item (the
        # common case) costs its share of one statement. A key we did not get exists —
        # committed earlier, or by a concurrent writer ON CONFLICT waited for. Each part's rows
        # go in key order, so two requests of the same items take their row locks in one order.
        new.sort(key=lambda i: tuple(map(str, i.extra["key"])))
        for part, keyed in ((new, True), (keyless, False)):
            if part:
                rows = [_row_values(item, spec, self.received_at) for item in part]
                returning = ("id", *spec.key) if keyed else ("id",)
                self.sent.append((part, rows, send_rows(spec.model, rows, returning=returning, on_conflict=keyed),
                                  keyed))

    def finish(self) -> None:
        spec = self.spec
        taken: list[Item] = []
        for items, rows, fetch, keyed in self.sent:
            returned = fetch()
            if keyed:
                inserted = {tuple(r[1:]): r[0] for r in returned}
                pks = [inserted.get(item.extra["key"]) for item in items]
            else:
                pks = [pk for (pk,) in returned]
            for item, pk, row in zip(items, pks, rows, strict=True):
                if pk is None:
                    taken.append(item)
                    continue
                item.outcome = CREATED
                item.extra["pk"] = pk
                self.created_rows.setdefault(self.type_name, []).append((item, pk, row))
        if taken:
            stored = self._look_up([i.extra["key"] for i in taken])
            for item in taken:
                row = stored.get(item.extra["key"])
                if row is None:
                    self.problems.append({"index": item.index, "field": None,
                                          "message": f"{_describe_key(item, spec)} conflicts with a stored row"})
                else:
                    self._settle(item, row)
        for item in self.repeats:
            item.extra["pk"] = item.extra["same_as"].extra.get("pk")

    def _look_up(self, keys: list[tuple]) -> dict[tuple, models.Model]:
        spec = self.spec
        filters = {f"{name}__in": {k[spec.key.index(name)] for k in keys} for name in spec.prefilter}
        qs = spec.model.objects.filter(account=self.account, **filters)
        for name, value in spec.fixed:
            qs = qs.filter(**{name: value})
        qs = qs.only("pk", *spec.key, *spec.booked)
        found = {}
        wanted = set(keys)
        for row in qs:
            key = tuple(getattr(row, k) for k in spec.key)
            if key in wanted:
                found[key] = row
        return found

    def _settle(self, item: Item, row: models.Model) -> None:
        spec = self.spec
        stored = {name: getattr(row, name) for name in spec.booked}
        diffs = differences(spec.booked, stored, self._booked(item))
        if diffs:
            self.problems.extend(conflict_errors(item, diffs, _describe_key(item, spec)))
        else:
            item.outcome = DUPLICATE
            item.extra["pk"] = row.pk


# --- orders -------------------------------------------------------------------

STATUS_RANK = {"new": 0, "partially_filled": 1, "filled": 2, "canceled": 2, "rejected": 2, "expired": 2}
ORDER_BOOKED = ("symbol", "side", "order_type", "status", "price", "quantity", "filled_quantity", "average_price",
                "reduce_only", "client_order_id")
ORDER_STATE = ORDER_BOOKED + ("updated_at",)


def store_orders(*, account: Account, items: list[Item], received_at: datetime, problems: list[dict]) -> None:
    """Orders in posted order: new -> created; newer updated_at -> updated; older -> duplicate."""
    keys = sorted({i.values["external_id"] for i in items})
    defaults = {n: Order._meta.get_field(n).get_default() for n in ORDER_STATE}
    # Row locks: two writers of one order apply their states one after the other.
    stored = {o.external_id: o for o in
              Order.objects.select_for_update().filter(account=account, external_id__in=keys)}
    states = {k: {n: getattr(o, n) for n in ORDER_STATE} | {"pk": o.pk, "meta": None}
              for k, o in stored.items()}
    fresh: dict[str, dict] = {}  # first seen in this request: the final state is inserted
    changed: set[str] = set()
    found: list[dict] = []
    for item in items:
        key, posted = item.values["external_id"], item.values
        state = states.get(key)
        if state is None:
            state = {**defaults, **{n: posted[n] for n in ORDER_STATE if n in posted}}
            state.update(pk=None, meta=item.meta, bot_id=item.bot_id)
            states[key] = fresh[key] = state
            item.outcome = CREATED
            continue
        diffs = [(att, state[att], posted[att]) for att in ("symbol", "side") if state[att] != posted[att]]
        if diffs:
            found.extend(conflict_errors(item, diffs, f"order {item.posted.get('id')!r}"))
            continue
        if posted["updated_at"] < state["updated_at"]:
            item.outcome = DUPLICATE  # an older state: journaled, changes nothing
            continue
        merged = {n: (posted[n] if n in posted else state[n]) for n in ORDER_STATE}
        if STATUS_RANK[merged["status"]] < STATUS_RANK[state["status"]]:
            merged["status"] = state["status"]  # status moves forward only
        if posted["updated_at"] == state["updated_at"]:
            diffs = differences(ORDER_BOOKED, state, merged)
            if diffs:
                found.extend(conflict_errors(item, diffs, f"order {item.posted.get('id')!r} at this updated_at"))
            else:
                item.outcome = DUPLICATE
            continue
        state.update(merged)
        if item.meta:
            state["meta"] = item.meta
        item.outcome = UPDATED
        if key not in fresh:
            changed.add(key)
    if found:
        problems.extend(found)
        return
    rows = []
    for key in sorted(fresh):
        state = fresh[key]
        values = {n: state[n] for n in ORDER_STATE}
        values.update(account_id=account.pk, external_id=key, created_at=received_at, received_at=received_at,
                      meta=state["meta"] or {}, bot_id=state["bot_id"])
        rows.append(full_row(Order, values))
    returned = {r[1]: r[0] for r in insert_rows(Order, rows, returning=("id", "external_id"))}
    if len(returned) < len(fresh):
        # A concurrent writer created some of these orders first: start the request again,
        # it will find them (and lock them) this time.
        raise RetryRequest("orders created concurrently")
    for key in sorted(changed):
        state = states[key]
        update = {n: state[n] for n in ORDER_STATE}
        if state["meta"]:
            update["meta"] = json_expression(state["meta"])
        Order.objects.filter(pk=state["pk"]).update(received_at=received_at, **update)
    for item in items:
        key = item.values["external_id"]
        item.extra["pk"] = returned.get(key) or states[key]["pk"]
    return


# --- trades -------------------------------------------------------------------

def _lock_trade(account: Account, item: Item, problems: list[dict]) -> Trade | None:
    trade = Trade.objects.select_for_update().filter(account=account, external_id=item.values["external_id"]).first()
    if trade is None:
        problems.append({"index": item.index, "field": "id", "status": 404,
                         "message": f"no trade {item.posted.get('id')!r}"})
    return trade


TRADE_UPDATABLE = ("sl_price", "tp_price", "trail_percent", "leverage", "margin", "confidence", "regime", "metadata")


def update_trade(*, account: Account, item: Item, received_at: datetime, problems: list[dict]) -> None:
    trade = _lock_trade(account, item, problems)
    if trade is None:
        return
    item.extra["pk"] = trade.pk
    if trade.status == Trade.Status.CLOSED:
        problems.append({"index": item.index, "field": "id",
                         "message": f"trade {item.posted.get('id')!r} is closed; a closed trade is never changed"})
        return
    changes = {}
    for name in TRADE_UPDATABLE:
        if name not in item.values:
            continue
        new, old = item.values[name], getattr(trade, name)
        if name == "metadata":
            if new != old:
                changes[name] = json_expression(new)
        elif _comparable(name, new) != _comparable(name, old):
            changes[name] = new
    if not changes:
        item.outcome = DUPLICATE
        return
    if item.meta:
        changes["meta"] = json_merge_expression("meta", item.meta)
    Trade.objects.filter(pk=trade.pk).update(updated_at=received_at, **changes)
    item.outcome = UPDATED


def trade_pnl(*, side: str, quantity: Decimal, entry_price: Decimal, exit_price: Decimal,
              entry_fee: Decimal, exit_fee: Decimal) -> Decimal:
    """(exit − entry)·quantity·(+1 long / −1 short) − entry fee − exit fee, exactly."""
    with localcontext(AMOUNT_CONTEXT):
        direction = 1 if side == Trade.Direction.LONG else -1
        return (exit_price - entry_price) * quantity * direction - entry_fee - exit_fee


CLOSE_BOOKED = ("exit_price", "exit_time", "exit_fee")


def close_trade(*, account: Account, item: Item, received_at: datetime, problems: list[dict]) -> None:
    trade = _lock_trade(account, item, problems)
    if trade is None:
        return
    item.extra["pk"] = trade.pk
    posted = {"exit_fee": Decimal(0), **item.values}
    if trade.status == Trade.Status.CLOSED:
        stored = {name: getattr(trade, name) for name in CLOSE_BOOKED}
        stored["exit_fee"] = stored["exit_fee"] or Decimal(0)
        diffs = differences(CLOSE_BOOKED, stored, posted)
        if diffs:
            problems.extend(conflict_errors(item, diffs, f"trade {item.posted.get('id')!r} is closed and"))
        else:
            item.outcome = DUPLICATE
        return
    pnl = trade_pnl(side=trade.side, quantity=trade.quantity, entry_price=trade.entry_price,
                    exit_price=posted["exit_price"], entry_fee=trade.entry_fee or Decimal(0),
                    exit_fee=posted["exit_fee"])
    if pnl.copy_abs() >= AMOUNT_LIMIT:
        problems.append({"index": item.index, "field": "exit_price", "status": 400,
                         "message": "the trade's PnL does not fit numeric(38,18)"})
        return
    pnl = pnl.quantize(AMOUNT_QUANTUM, context=AMOUNT_CONTEXT)
    Trade.objects.filter(pk=trade.pk).update(
        status=Trade.Status.CLOSED, exit_price=posted["exit_price"], exit_time=posted["exit_time"],
        exit_fee=posted["exit_fee"], close_reason=posted.get("close_reason", ""),
        reported_pnl=posted.get("reported_pnl"), pnl=pnl, closed_at=received_at, updated_at=received_at,
        **({"meta": json_merge_expression("meta", item.meta)} if item.meta else {}),
    )
    item.outcome = UPDATED


# --- voids --------------------------------------------------------------------

def void_fills(*, account: Account, items: list[Item], received_at: datetime, problems: list[dict],
               voided_symbols: set[str]) -> None:
    wanted = {(i.values["symbol"], i.values["external_id"]) for i in items}
    fills = {(f.symbol, f.external_id): f for f in Fill.objects.select_for_update().filter(
        account=account, external_id__in={k[1] for k in wanted}, symbol__in={k[0] for k in wanted},
    ).only("pk", "symbol", "external_id", "voided_at")}
    done: set[int] = set()
    for item in items:
        fill = fills.get((item.values["symbol"], item.values["external_id"]))
        if fill is None:
            problems.append({"index": item.index, "field": "id", "status": 404,
                             "message": f"no fill {item.posted.get('id')!r} in {item.values['symbol']}"})
            continue
        item.extra["pk"] = fill.pk
        if fill.voided_at is not None or fill.pk in done:
            item.outcome = DUPLICATE
            continue
        # Only voided_at/void_reason may change on a fill (the database refuses the rest).
        Fill.objects.filter(pk=fill.pk).update(voided_at=received_at, void_reason=item.values.get("void_reason", ""))
        done.add(fill.pk)
        voided_symbols.add(fill.symbol)
        item.outcome = UPDATED

