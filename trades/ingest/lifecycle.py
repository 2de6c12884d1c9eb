"""Items with a life: orders move through their states, trades are changed and closed,
fills are voided. Each is applied in the order posted, under row locks, and records its
outcome on the item; what is wrong goes to the request's problems (409/404/400).
"""

from datetime import datetime
from decimal import Decimal, localcontext

from accounts.models import Account
from core.amounts import AMOUNT_CONTEXT, AMOUNT_LIMIT, q18
from core.sql.inserts import full_row, insert_rows, json_expression, json_merge_expression
from core.sql.updates import update_rows
from trades.books.tally import add_closed
from trades.ingest.items import CREATED, DUPLICATE, UPDATED, Item, Problems
from trades.ingest.keyed import differences, report_conflict, same_value
from trades.models import ORDER_STATUS_RANK, Fill, Order, Trade, TradeDirection, TradeStatus


class RetryRequest(Exception):
    """A concurrent writer won a race this request cannot settle in place: run it again."""


# --- orders -------------------------------------------------------------------

ORDER_BOOKED = ("symbol", "side", "order_type", "status", "price", "quantity", "filled_quantity", "average_price",
                "reduce_only", "client_order_id")
ORDER_STATE = ORDER_BOOKED + ("updated_at",)


def store_orders(*, account: Account, items: list[Item], received_at: datetime, problems: Problems) -> None:
    """Orders in posted order: new -> created; newer updated_at -> updated; older -> duplicate."""
    keys = sorted({i.values["external_id"] for i in items})
    defaults = {n: Order._meta.get_field(n).get_default() for n in ORDER_STATE}
    # Row locks, in key order: two writers of the same orders apply their states one after the other.
    stored = {o.external_id: o for o in
              Order.objects.select_for_update().filter(account=account, external_id__in=keys).order_by("external_id")}
    states = {k: {n: getattr(o, n) for n in ORDER_STATE} | {"pk": o.pk, "meta": None}
              for k, o in stored.items()}
    fresh: dict[str, dict] = {}  # first seen in this request: the final state is inserted
    changed: set[str] = set()
    found = Problems()
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
            report_conflict(found, item, diffs, f"order {item.posted.get('id')!r}")
            continue
        if posted["updated_at"] < state["updated_at"]:
            item.outcome = DUPLICATE  # an older state: journaled, changes nothing
            continue
        merged = {n: (posted[n] if n in posted else state[n]) for n in ORDER_STATE}
        if ORDER_STATUS_RANK[merged["status"]] < ORDER_STATUS_RANK[state["status"]]:
            merged["status"] = state["status"]  # status moves forward only
        if posted["updated_at"] == state["updated_at"]:
            diffs = differences(ORDER_BOOKED, state, merged)
            if diffs:
                report_conflict(found, item, diffs, f"order {item.posted.get('id')!r} at this updated_at")
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
        problems.merge(found)
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
        item.pk = returned.get(key) or states[key]["pk"]


# --- trades -------------------------------------------------------------------

def lock_trades(*, account: Account, items: list[Item]) -> None:
    """Lock every trade these updates and closes name, in key order, before any is applied in
    posted order: two requests changing the same trades in different orders then wait for
    each other at the first shared one instead of each holding one the other wants."""
    keys = sorted({item.values["external_id"] for item in items})
    if len(keys) > 1:
        list(Trade.objects.select_for_update().filter(account=account, external_id__in=keys)
             .order_by("external_id").values_list("pk", flat=True))


def _lock_trade(account: Account, item: Item, problems: Problems) -> Trade | None:
    trade = Trade.objects.select_for_update().filter(account=account, external_id=item.values["external_id"]).first()
    if trade is None:
        problems.add(item.index, "id", f"no trade {item.posted.get('id')!r}", status=404)
    return trade


TRADE_UPDATABLE = ("sl_price", "tp_price", "trail_percent", "leverage", "margin", "confidence", "regime", "metadata")


def update_trade(*, account: Account, item: Item, received_at: datetime, problems: Problems) -> None:
    trade = _lock_trade(account, item, problems)
    if trade is None:
        return
    item.pk = trade.pk
    changes = {}
    for name in TRADE_UPDATABLE:
        if name not in item.values:
            continue
        new, old = item.values[name], getattr(trade, name)
        if name == "metadata":
            if new != old:
                changes[name] = json_expression(new)
        elif not same_value(name, new, old):
            changes[name] = new
    if not changes:
        item.outcome = DUPLICATE  # as stored: a resent update, even of a trade closed since
        return
    if trade.status == TradeStatus.CLOSED:
        problems.add(item.index, "id", f"trade {item.posted.get('id')!r} is closed; a closed trade is never changed",
                     status=409)
        return
    if item.meta:
        changes["meta"] = json_merge_expression("meta", item.meta)
    Trade.objects.filter(pk=trade.pk).update(updated_at=received_at, **changes)
    item.outcome = UPDATED


def trade_pnl(*, side: str, quantity: Decimal, entry_price: Decimal, exit_price: Decimal,
              entry_fee: Decimal, exit_fee: Decimal) -> Decimal:
    """(exit − entry)·quantity·(+1 long / −1 short) − entry fee − exit fee, exactly."""
    with localcontext(AMOUNT_CONTEXT):
        direction = 1 if side == TradeDirection.LONG else -1
        return (exit_price - entry_price) * quantity * direction - entry_fee - exit_fee


CLOSE_BOOKED = ("exit_price", "exit_time", "exit_fee")


def close_trade(*, account: Account, item: Item, received_at: datetime, problems: Problems) -> None:
    trade = _lock_trade(account, item, problems)
    if trade is None:
        return
    item.pk = trade.pk
    posted = {"exit_fee": Decimal(0), **item.values}
    pnl = _closing_pnl(trade, item, posted, problems)
    if pnl is None:
        return
    Trade.objects.filter(pk=trade.pk).update(
        status=TradeStatus.CLOSED, exit_price=posted["exit_price"], exit_time=posted["exit_time"],
        exit_fee=posted["exit_fee"], close_reason=posted.get("close_reason", ""),
        reported_pnl=posted.get("reported_pnl"), pnl=q18(pnl), closed_at=received_at, updated_at=received_at,
        **({"meta": json_merge_expression("meta", item.meta)} if item.meta else {}),
    )
    trade.status, trade.pnl, trade.reported_pnl = TradeStatus.CLOSED, q18(pnl), posted.get("reported_pnl")
    add_closed(account, [trade])
    item.outcome = UPDATED


def _closing_pnl(trade: Trade, item: Item, posted: dict, problems: Problems) -> Decimal | None:
    """The PnL that closing `trade` as posted books, or None when there is nothing to close: the
    trade is closed already (the same close: a duplicate; another: a 409) or the PnL does not fit."""
    if trade.status == TradeStatus.CLOSED:
        stored = {name: getattr(trade, name) for name in CLOSE_BOOKED}
        stored["exit_fee"] = stored["exit_fee"] or Decimal(0)
        diffs = differences(CLOSE_BOOKED, stored, posted)
        if diffs:
            report_conflict(problems, item, diffs, f"trade {item.posted.get('id')!r} is closed and")
        else:
            item.outcome = DUPLICATE
        return None
    pnl = trade_pnl(side=trade.side, quantity=trade.quantity, entry_price=trade.entry_price,
                    exit_price=posted["exit_price"], entry_fee=trade.entry_fee or Decimal(0),
                    exit_fee=posted["exit_fee"])
    if pnl.copy_abs() >= AMOUNT_LIMIT:
        problems.add(item.index, "exit_price", "the trade's PnL does not fit numeric(38,18)")
        return None
    return pnl


def close_trades(*, account: Account, items: list[Item], received_at: datetime, problems: Problems) -> None:
    """`close_trade` for a run of closes in posted order, their trades locked in one statement (in key
    order, as every request locks them) and closed in one: an importer closes thousands at once."""
    if len(items) == 1:
        close_trade(account=account, item=items[0], received_at=received_at, problems=problems)
        return
    keys = sorted({item.values["external_id"] for item in items})
    trades = {t.external_id: t for t in Trade.objects.select_for_update().filter(
        account=account, external_id__in=keys).order_by("external_id")}
    closed: dict[int, dict] = {}
    for item in items:
        trade = trades.get(item.values["external_id"])
        if trade is None:
            problems.add(item.index, "id", f"no trade {item.posted.get('id')!r}", status=404)
            continue
        item.pk = trade.pk
        posted = {"exit_fee": Decimal(0), **item.values}
        if item.meta and trade.status != TradeStatus.CLOSED:
            # unknown fields merge into the row's meta: the one-by-one path does that
            close_trade(account=account, item=item, received_at=received_at, problems=problems)
            trade.refresh_from_db()
            continue
        pnl = _closing_pnl(trade, item, posted, problems)  # closed before this request, or earlier in this run
        if pnl is None:
            continue
        row = {"id": trade.pk, "exit_price": posted["exit_price"], "exit_time": posted["exit_time"],
               "exit_fee": posted["exit_fee"], "close_reason": posted.get("close_reason", ""),
               "reported_pnl": posted.get("reported_pnl"), "pnl": q18(pnl)}
        closed[trade.pk] = row
        for name, value in row.items():
            if name != "id":
                setattr(trade, name, value)
        trade.status = TradeStatus.CLOSED
        item.outcome = UPDATED
    if closed and not problems:
        update_rows(Trade, list(closed.values()), constants={"status": TradeStatus.CLOSED, "closed_at": received_at,
                                                              "updated_at": received_at})
        add_closed(account, [trade for trade in trades.values() if trade.pk in closed])


# --- voids --------------------------------------------------------------------

def void_fills(*, account: Account, items: list[Item], received_at: datetime, problems: Problems) -> set[str]:
    """Mark the named fills void; returns the symbols whose books must be rebuilt."""
    wanted = {(i.values["symbol"], i.values["external_id"]) for i in items}
    fills = {(f.symbol, f.external_id): f for f in Fill.objects.select_for_update().filter(
        account=account, external_id__in={k[1] for k in wanted}, symbol__in={k[0] for k in wanted},
    ).order_by("symbol", "external_id").only("pk", "symbol", "external_id", "voided_at")}
    done: set[int] = set()
    voided: set[str] = set()
    for item in items:
        fill = fills.get((item.values["symbol"], item.values["external_id"]))
        if fill is None:
            problems.add(item.index, "id", f"no fill {item.posted.get('id')!r} in {item.values['symbol']}", status=404)
            continue
        item.pk = fill.pk
        if fill.voided_at is not None or fill.pk in done:
            item.outcome = DUPLICATE
            continue
        # Only voided_at/void_reason may change on a fill (the database refuses the rest).
        Fill.objects.filter(pk=fill.pk).update(voided_at=received_at, void_reason=item.values.get("void_reason", ""))
        done.add(fill.pk)
        voided.add(fill.symbol)
        item.outcome = UPDATED
    return voided
