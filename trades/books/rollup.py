"""Days of an account: the replay behind DailyPnl and the time-weighted returns.

`replay_days` walks the account's history in time order — fills, cash flows and
marks merged — keeping the books and the newest price of every symbol, and closes
each UTC day with its realized PnL, fees, funding, external cash flows, equity at
the end and its time-weighted return: the day is split at every deposit,
withdrawal or transfer, each piece's return is equity just before the flow over
equity just after the previous one, and the pieces are chained. A deposit is
therefore never profit.

In the replay a position is valued at the newest posted mark or fill price up to
that moment (reported position snapshots are not replayed), and a fee in another
currency at the newest `<CUR><BASE>` price up to that moment.

`roll_up_days` stores closed days in DailyPnl (idempotent upsert); `day_rows`
gives the reports every day: the rolled-up rows (rolled up on demand when they do
not reach yesterday — a late fill or a void drops the days it changes, see
state.invalidate_days), and today computed live from the valuation.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, localcontext

from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from core.amounts import AMOUNT_CONTEXT, q18
from snapshots.models import Mark
from trades.books.cost import ZERO
from trades.books.fills import fill_rows
from trades.books.marks import converted_currency
from trades.books.state import new_book
from trades.books.valuation import EXTERNAL_KINDS, FUNDING, Valuation, cash_flow_totals, valuation
from trades.models import CashFlow, DailyPnl, Fill

HUNDRED = Decimal(100)


@dataclass
class DayRow:
    day: date
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    funding: Decimal = ZERO
    cash_flows: Decimal = ZERO
    equity_end: Decimal | None = None
    return_pct: Decimal | None = None
    fills: int = 0
    live: bool = False

    @property
    def net_pnl(self) -> Decimal:
        return self.realized_pnl - self.fees + self.funding

    def as_dict(self) -> dict:
        return {
            "day": self.day, "realized_pnl": self.realized_pnl, "fees": self.fees, "funding": self.funding,
            "net_pnl": self.net_pnl, "cash_flows": self.cash_flows, "equity": self.equity_end,
            "return_pct": self.return_pct, "fills": self.fills,
        }


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _stream(account: Account, until: datetime):
    """(time, order, kind, payload) of fills, marks and cash flows before `until`, in time order."""
    fromiso = datetime.fromisoformat
    fills = (
        (fromiso(at) if isinstance(at, str) else at, int(pk), symbol, side, price, quantity, fees)
        for symbol, _key, (pk, side, price, quantity, fees, at, _reported)
        in fill_rows(account, by_time=True, before=until)
    )
    # Read in full BEFORE the fills stream starts: on PostgreSQL the fills come by COPY, which
    # holds the connection until it ends — a query of another iterator meanwhile would wait on it forever.
    marks = list(
        Mark.objects.filter(account=account, ts__lt=until).order_by("ts", "id")
        .values_list("ts", "id", "symbol", "price")
    )
    flows = list(
        CashFlow.objects.filter(account=account, ts__lt=until).order_by("ts", "id")
        .values_list("ts", "id", "kind", "amount", "currency")
    )
    # At one instant: a mark first (it prices what follows), then fills, then cash flows.
    return heapq.merge(
        ((r[0], 0, r[1], "mark", r) for r in marks),
        ((r[0], 1, r[1], "fill", r) for r in fills),
        ((r[0], 2, r[1], "flow", r) for r in flows),
    )


def replay_days(account: Account, *, until: date, final_equity: Decimal | None = None) -> list[DayRow]:
    """Every day from the first fill or cash flow to `until` (inclusive), replayed. With
    `final_equity`, the last day ends at that equity (the valuation now, for today)."""
    end = day_start(until + timedelta(days=1))
    base = account.base_currency.upper()
    books: dict = {}
    prices: dict[str, Decimal] = {}
    rates: dict[str, Decimal] = {}  # currency → its newest price in the base, under any spelling (marks.py)
    flows_total = realized_total = fees_total = ZERO
    rows: list[DayRow] = []
    row: DayRow | None = None
    start_equity = account.initial_capital  # equity at the start of the current piece
    growth = Decimal(1)  # chained (1 + piece return) of the current day

    def equity() -> Decimal:
        unrealized = ZERO
        for symbol, book in books.items():
            if book.quantity and book.average_price is not None:
                unrealized += book.quantity * (prices[symbol] - book.average_price)
        return account.initial_capital + flows_total + realized_total - fees_total + q18(unrealized)

    def close_day() -> None:
        nonlocal start_equity, growth
        row.equity_end = final_equity if final_equity is not None and row.day == until else equity()
        if start_equity > 0:
            growth *= row.equity_end / start_equity
        row.return_pct = q18((growth - 1) * HUNDRED)
        rows.append(row)
        start_equity, growth = row.equity_end, Decimal(1)

    def fee_value(amount: Decimal, currency: str) -> Decimal:
        if currency == base:
            return amount
        price = rates.get(currency)
        return q18(amount * price) if price is not None else ZERO

    with localcontext(AMOUNT_CONTEXT):
        for at, _order, _pk, kind, r in _stream(account, end):
            day = at.astimezone(UTC).date()
            if row is None:
                row = DayRow(day=day)
            while day > row.day:  # close the day and any quiet days after it
                close_day()
                row = DayRow(day=row.day + timedelta(days=1))
            if kind == "mark":
                prices[r[2]] = r[3]
                if (currency := converted_currency(r[2], base)) is not None:
                    rates[currency] = r[3]
            elif kind == "fill":
                _at, pk, symbol, side, price, quantity, fees = r
                book = books.get(symbol)
                if book is None:
                    book = books[symbol] = new_book(account)
                before_realized, before_fees = book.realized_pnl, book.fees
                book.run(((pk, side, price, quantity, fees, at, None),))
                fee_delta = book.fees - before_fees + sum(
                    (fee_value(a, c) for a, c in fees if c != base), ZERO
                )
                realized_total += book.realized_pnl - before_realized
                fees_total += fee_delta
                row.realized_pnl += book.realized_pnl - before_realized
                row.fees += fee_delta
                row.fills += 1
                prices[symbol] = price
                if (currency := converted_currency(symbol, base)) is not None:
                    rates[currency] = price
            else:
                _at, _pk, flow_kind, amount, currency = r
                value = fee_value(amount, currency.upper())
                if flow_kind in EXTERNAL_KINDS:
                    before = equity()
                    if start_equity > 0:
                        growth *= before / start_equity
                    start_equity = before + value
                    row.cash_flows += value
                elif flow_kind == FUNDING:
                    row.funding += value
                flows_total += value
        if row is not None:
            while True:
                close_day()
                if row.day >= until:
                    break
                row = DayRow(day=row.day + timedelta(days=1))
    return [r for r in rows if r.day <= until]


def roll_up_days(*, account: Account, until: date | None = None) -> int:
    """Store DailyPnl for every day up to `until` (default: yesterday, UTC); returns the number of
    rows written. Idempotent: the days are replayed from the fills. Run by Celery (nightly, and
    by the snapshot round when an account's days fall behind), never by a read."""
    if until is None:
        until = timezone.now().astimezone(UTC).date() - timedelta(days=1)
    rows = replay_days(account, until=until)
    objs = [
        DailyPnl(account=account, day=r.day, realized_pnl=r.realized_pnl, fees=r.fees, funding=r.funding,
                 net_pnl=r.net_pnl, cash_flows=r.cash_flows, equity_end=r.equity_end, return_pct=r.return_pct,
                 fills=r.fills)
        for r in rows
    ]
    with transaction.atomic():
        DailyPnl.objects.bulk_create(
            objs, batch_size=1000, update_conflicts=True, unique_fields=["account", "day"],
            update_fields=["realized_pnl", "fees", "funding", "net_pnl", "cash_flows", "equity_end", "return_pct",
                           "fills", "computed_at"],
        )
    return len(rows)


def _first_activity(account_id: int) -> datetime | None:
    firsts = [
        Fill.objects.filter(account_id=account_id, voided_at__isnull=True).order_by("executed_at")
        .values_list("executed_at", flat=True).first(),
        CashFlow.objects.filter(account_id=account_id).order_by("ts").values_list("ts", flat=True).first(),
    ]
    firsts = [f for f in firsts if f is not None]
    return min(firsts) if firsts else None


def _stored_days(account: Account, today: date) -> list[DayRow]:
    return [
        DayRow(*row)
        for row in DailyPnl.objects.filter(account=account, day__lt=today).order_by("day").values_list(
            "day", "realized_pnl", "fees", "funding", "cash_flows", "equity_end", "return_pct", "fills")
    ]


def days_behind(account_id: int, *, today: date | None = None) -> bool:
    """Whether the stored days stop short of yesterday (not rolled up yet, or dropped by a late
    fill or a void): the snapshot round then asks for a roll-up."""
    today = today or timezone.now().astimezone(UTC).date()
    last = (DailyPnl.objects.filter(account_id=account_id, day__lt=today).order_by("-day")
            .values_list("day", flat=True).first())
    if last is not None and last >= today - timedelta(days=1):
        return False  # the common case, one query
    first = _first_activity(account_id)
    return first is not None and first.astimezone(UTC).date() < today


def day_rows(account: Account, *, value: Valuation | None = None, now: datetime | None = None) -> list[DayRow]:
    """Every day of the account to today, today live from the valuation. Reads only: the stored
    DailyPnl rows when they reach yesterday and today had no deposit, withdrawal or transfer;
    otherwise every day is replayed for this request (and nothing is stored — the roll-up is
    Celery's), so a cash flow splits today's return like any other day's."""
    now = now or timezone.now()
    today = now.astimezone(UTC).date()
    value = value or valuation(account=account)
    stored = _stored_days(account, today)
    first = _first_activity(account.pk)
    if first is None:
        return [live_day(account, [], value, today)]
    complete = first.astimezone(UTC).date() >= today or (stored and stored[-1].day >= today - timedelta(days=1))
    if complete and not _external_flows_since(account, day_start(today)):
        return stored + [live_day(account, stored, value, today)]
    rows = replay_days(account, until=today, final_equity=value.equity)
    live = rows[-1]
    # Today's figures are the valuation's (it values at every mark source); the replay gives the
    # split return. The closed days before it are the replay's own.
    with localcontext(AMOUNT_CONTEXT):
        closed = rows[:-1]
        live.realized_pnl = value.realized_pnl - sum((r.realized_pnl for r in closed), ZERO)
        live.fees = value.fees - sum((r.fees for r in closed), ZERO)
        live.fills = value.fills - sum(r.fills for r in closed)
    live.live = True
    return rows


def _external_flows_since(account: Account, since: datetime) -> bool:
    return CashFlow.objects.filter(account=account, ts__gte=since, kind__in=EXTERNAL_KINDS).exists()


def live_day(account: Account, rolled: list[DayRow], value: Valuation, today: date) -> DayRow:
    """Today from the valuation minus the closed days (a day without deposits, withdrawals or
    transfers: its return is equity now over equity at the start of the day)."""
    with localcontext(AMOUNT_CONTEXT):
        flows = cash_flow_totals(account, since=day_start(today))
        funding = sum((v for (k, c), v in flows.items() if k == FUNDING and c == value.base_currency.upper()), ZERO)
        row = DayRow(
            day=today,
            realized_pnl=value.realized_pnl - sum((r.realized_pnl for r in rolled), ZERO),
            fees=value.fees - sum((r.fees for r in rolled), ZERO),
            funding=funding,
            equity_end=value.equity,
            fills=value.fills - sum(r.fills for r in rolled),
            live=True,
        )
        start = rolled[-1].equity_end if rolled and rolled[-1].equity_end is not None else account.initial_capital
        if start > 0:
            row.return_pct = q18((value.equity - start) / start * HUNDRED)
    return row
