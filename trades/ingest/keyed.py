"""Keyed items: inserted once, then a duplicate or a conflict (SPEC 4.1 rule 2).

Fills, cash flows, marks, snapshots, signals with an id and trade opens each have a
key per account. They are written in bulk — INSERT … ON CONFLICT DO NOTHING
RETURNING, one statement per part of the request as it is checked — and then the
keys that were not inserted are read back and their booked content compared: equal
is a duplicate (not written again), different is a conflict (409) naming the fields.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import models

from accounts.models import Account
from core.amounts import AMOUNT_CONTEXT, decimal_str
from core.sql.inserts import full_row, send_rows
from snapshots.models import EquitySnapshot, Mark, PositionSnapshot, SnapshotSource, WalletSnapshot
from trades.ingest.items import CREATED, DUPLICATE, Item, Problems
from trades.models import FILL_BOOKED_FIELDS, CashFlow, Fill, Signal, Trade, TradeStatus


@dataclass(frozen=True)
class Keyed:
    """How one keyed item type is stored."""

    model: type[models.Model]
    key: tuple[str, ...]  # attnames that, with the account, identify the row
    prefilter: tuple[str, ...]  # key attnames used in the SQL look-up (`__in`)
    booked: tuple[str, ...]  # attnames compared for duplicate vs conflict
    fixed: tuple[tuple[str, object], ...] = ()  # columns every row of this type has (e.g. source)


KEYED: dict[str, Keyed] = {
    "fill": Keyed(Fill, ("symbol", "external_id"), ("external_id", "symbol"), FILL_BOOKED_FIELDS),
    "cashflow": Keyed(CashFlow, ("external_id",), ("external_id",), ("kind", "amount", "currency", "symbol", "ts")),
    "mark": Keyed(Mark, ("symbol", "ts"), ("symbol", "ts"), ("price",)),
    "position": Keyed(PositionSnapshot, ("symbol", "exchange_ts"), ("symbol", "exchange_ts"),
                      ("side", "size", "entry_price", "mark_price", "liq_price", "unrealized_pnl", "realized_pnl",
                       "leverage"), (("source", SnapshotSource.REPORTED),)),
    "wallet": Keyed(WalletSnapshot, ("coin", "exchange_ts"), ("coin", "exchange_ts"),
                    ("wallet_balance", "available_balance", "equity")),
    "equity": Keyed(EquitySnapshot, ("bot_id", "exchange_ts"), ("exchange_ts",),
                    ("equity", "cash", "positions_value", "positions_count", "total_trades", "initial_capital",
                     "returns_pct", "realized_pnl", "unrealized_pnl", "fees", "funding"),
                    (("source", SnapshotSource.REPORTED),)),
    "signal": Keyed(Signal, ("external_id",), ("external_id",), ("symbol", "value", "generated_at", "strength")),
    "trade.open": Keyed(Trade, ("external_id",), ("external_id",),
                        ("symbol", "side", "quantity", "entry_price", "entry_time", "entry_fee")),
}

# The order keyed types are written in (items with a life follow, in posted order); every
# request that writes several takes their locks in this one order.
KEYED_ORDER = ("fill", "cashflow", "mark", "position", "wallet", "equity", "signal", "trade.open")


# --- the lock order -------------------------------------------------------------

def _posted_key_names() -> dict[str, tuple[str, ...]]:
    """Per keyed type, the posted fields its key is made of (`id` for external_id, `bot` for bot_id)."""
    from trades.ingest.schema import ITEM_TYPES

    out = {}
    for type_name, spec in KEYED.items():
        posted = {f.attname: f.name for f in ITEM_TYPES[type_name].fields}
        out[type_name] = tuple("bot" if att == "bot_id" else posted.get(att, att) for att in spec.key)
    return out


_KEY_NAMES: dict[str, tuple[str, ...]] | None = None
_RANK_CHAR = {name: chr(rank) for rank, name in enumerate(KEYED_ORDER)}


def lock_order(posted: Sequence, item_type: str | None) -> list[int]:
    """The indexes of a request's items in the one order every request checks and writes them in:
    keyed items by type (KEYED_ORDER), then by their key as posted; everything else after them,
    as posted.

    An INSERT … ON CONFLICT that meets a key another open transaction inserted waits for it
    to end. Two requests of the same items that inserted them in different orders (different
    request sizes, shuffled, split into parts) could each wait for the other — a deadlock.
    Inserted in one order, the first shared key decides who waits and the other runs through.
    The order is the posted key's text: a function of each item alone, so any two requests
    agree on it, and known before the items are checked, so the parts are still sent while
    the next is checked. (Only a key written differently in two requests — an id 5 and "5.0",
    a time as epoch and as ISO — can sort differently; the database breaks such a rare
    deadlock and the request runs again.)"""
    global _KEY_NAMES
    if _KEY_NAMES is None:
        _KEY_NAMES = _posted_key_names()
    names_of = _KEY_NAMES
    # Each item's sort key as one string (strings compare faster than tuples; this runs on every
    # batch): its type's rank as a character, then its key's fields joined by NUL (which no posted
    # text holds: the validator refuses it). Items without a key all get the same one, after
    # every type's rank, so the stable sort keeps them as posted.
    unkeyed = chr(len(KEYED_ORDER))
    keys = []
    append = keys.append
    for raw in posted:
        type_name = item_type or (raw.get("type") if isinstance(raw, dict) else None)
        names = names_of.get(type_name) if isinstance(type_name, str) and isinstance(raw, dict) else None
        if names is None:
            append(unkeyed)
            continue
        if type_name == "equity" and raw.get("bot") is None:
            names = ("bot_id", "exchange_ts")
        append(_RANK_CHAR[type_name] + "\0".join([str(raw.get(name)) for name in names]))
    return sorted(range(len(posted)), key=keys.__getitem__)


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


def same_value(attname: str, a, b) -> bool:
    """Equal as the books see them: decimals by value, fee lists by their amounts."""
    return _comparable(attname, a) == _comparable(attname, b)


def differences(booked: Sequence[str], stored: dict, posted: dict) -> list[tuple[str, object, object]]:
    """(attname, stored, posted) for every booked column that differs, compared as decimals."""
    out = []
    for name in booked:
        a, b = _comparable(name, stored.get(name)), _comparable(name, posted.get(name))
        if a != b:
            out.append((name, a, b))
    return out


def report_conflict(problems: Problems, item: Item, diffs, what: str) -> None:
    """A 409 naming each field that differs, in the names the bot posted."""
    names = {f.attname: f.name for f in item.type.fields}
    names["other_fees"] = "fees"
    if "fees" in item.posted:  # fee/fee_currency came from the posted `fees` list
        names.update(fee="fees", fee_currency="fees")
    for att, a, b in diffs:
        name = names.get(att, att)
        problems.add(item.index, name, f"{what} exists with different {name}: stored {_shown(a)}, "
                                       f"posted {_shown(b)}; the stored row is unchanged", status=409)


def describe_key(item: Item, spec: Keyed) -> str:
    """How an error names the item: its id as posted, or its key's values."""
    if "id" in item.posted and "external_id" in spec.key:
        return f"{item.type.name} {item.posted['id']!r}"
    parts = [_shown(item.values.get(k)) for k in spec.key if k != "bot_id"]
    return f"{item.type.name} ({', '.join(parts)})"


# --- writing ------------------------------------------------------------------

# Per model: (has a received_at column, has a meta column), looked up once, not per row.
_ROW_EXTRAS = {spec.model: tuple(name in {f.attname for f in spec.model._meta.concrete_fields}
                                 for name in ("received_at", "meta"))
               for spec in KEYED.values()}


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
        row.update(status=TradeStatus.OPEN, opened_at=received_at, updated_at=received_at)
    return row


class KeyedWriter:
    """One account's keyed items of one type, written as the request is checked: each part is
    sent as one INSERT (`add`, which does not wait for it inside `core.sql.statements.pipelined`),
    and every outcome is settled once all are sent (`finish`). The rows it inserted are in
    `created`, as (item, row)."""

    def __init__(self, *, account: Account, type_name: str, received_at: datetime, problems: Problems):
        self.account, self.type_name, self.received_at = account, type_name, received_at
        self.problems = problems
        self.spec = KEYED[type_name]
        self.defaults = {name: self.spec.model._meta.get_field(name).get_default() for name in self.spec.booked}
        self.first: dict[tuple, Item] = {}  # key -> the item that counts for it
        self.repeats: list[Item] = []  # items whose key came earlier in the request, with equal content
        self.sent: list[tuple[list[Item], list[dict], Callable[[], list[tuple]], bool]] = []
        self.created: list[tuple[Item, dict]] = []

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
            item.key = key = tuple(map(item.values.get, spec.key))
            earlier = self.first.get(key)
            if earlier is None:
                self.first[key] = item
                new.append(item)
                continue
            # The same key twice in one request: the first one counts, the second is compared to it.
            diffs = differences(spec.booked, self._booked(earlier), self._booked(item))
            if diffs:
                report_conflict(self.problems, item, diffs, f"{describe_key(item, spec)} (item {earlier.index})")
            else:
                item.outcome = DUPLICATE
                item.same_as = earlier
                self.repeats.append(item)
        # Insert first, read back later only the keys that were not inserted: a new item (the
        # common case) costs its share of one statement. A key we did not get exists —
        # committed earlier, or by a concurrent writer ON CONFLICT waited for. The rows go in
        # the order the items came: the request's lock order (`lock_order`), the same for
        # every request, so two requests of the same items never wait on each other in a circle.
        for part, keyed in ((new, True), (keyless, False)):
            if part:
                rows = [_row_values(item, spec, self.received_at) for item in part]
                returning = ("id", *spec.key) if keyed else ("id",)
                self.sent.append((part, rows, send_rows(spec.model, rows, returning=returning, on_conflict=keyed),
                                  keyed))

    def finish(self) -> None:
        taken: list[Item] = []
        for items, rows, fetch, keyed in self.sent:
            returned = fetch()
            if keyed:
                inserted = {tuple(r[1:]): r[0] for r in returned}
                pks = [inserted.get(item.key) for item in items]
            else:
                pks = [pk for (pk,) in returned]
            for item, pk, row in zip(items, pks, rows, strict=True):
                if pk is None:
                    taken.append(item)
                    continue
                item.outcome = CREATED
                item.pk = row["id"] = pk
                self.created.append((item, row))
        if taken:
            stored = self._look_up([i.key for i in taken])
            for item in taken:
                row = stored.get(item.key)
                if row is None:
                    self.problems.add(item.index, None, f"{describe_key(item, self.spec)} conflicts with a stored row",
                                      status=409)
                else:
                    self._settle(item, row)
        for item in self.repeats:
            item.pk = item.same_as.pk

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
            report_conflict(self.problems, item, diffs, describe_key(item, spec))
        else:
            item.outcome = DUPLICATE
            item.pk = row.pk
