"""Valuation: an account's positions and equity now, from PositionState + newest marks.

Cheap by design (the Celery snapshot round values every account each minute): one
query for the states with their marks, one for the cash-flow sums, one count of
closed trades, plus one look-up per fee currency that is not the base currency.
No history is replayed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, localcontext

from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from accounts.models import Account
from core.amounts import AMOUNT_CONTEXT, q18
from trades.books.cost import ZERO, Trips
from trades.books.marks import (
    Price,
    conversion_symbols,
    newest_price,
    pick,
    price_of_state,
    states_with_prices,
)
from trades.books.state import book_from_state
from trades.models import CashFlow, ClosedTradeTally

FUNDING = CashFlow.Kind.FUNDING
# Money moved in or out by the owner: not profit, so time-weighted returns split at them.
EXTERNAL_KINDS = frozenset({"deposit", "withdrawal", "transfer_in", "transfer_out"})


@dataclass
class PositionView:
    symbol: str
    quantity: Decimal
    average_price: Decimal | None
    realized_pnl: Decimal
    fees: Decimal
    mark_price: Decimal | None
    mark_source: str | None
    unrealized_pnl: Decimal
    unconverted_fees: dict[str, Decimal] = field(default_factory=dict)
    fill_count: int = 0
    last_executed_at: datetime | None = None
    reported_size: Decimal | None = None  # signed, from the newest reported position snapshot
    reported_at: datetime | None = None

    def as_dict(self) -> dict:
        return {
            "symbol": self.symbol,
            "quantity": self.quantity,
            "average_price": self.average_price,
            "realized_pnl": self.realized_pnl,
            "fees": self.fees,
            "unconverted_fees": dict(self.unconverted_fees),
            "mark_price": self.mark_price,
            "mark_source": self.mark_source,
            "unrealized_pnl": self.unrealized_pnl,
            "fills": self.fill_count,
            "last_fill_at": self.last_executed_at,
        }


@dataclass
class Valuation:
    account_id: int
    base_currency: str
    at: datetime
    initial_capital: Decimal
    positions: list[PositionView]
    cash: Decimal
    equity: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal  # base-currency fees + other currencies converted at their newest mark
    funding: Decimal
    cash_flows: Decimal  # deposits, withdrawals, transfers (external money), in the base currency
    other_flows: Decimal  # rebates and fee-kind cash flows: in cash, not in net_pnl
    positions_value: Decimal  # Σ |quantity| · mark: the gross market value of the open positions
    positions_count: int  # non-zero positions
    closed_trades: int
    fills: int
    unconverted_fees: dict[str, Decimal]  # fee currencies without a mark: not in `fees`, flagged
    unconverted_cash_flows: dict[str, Decimal]  # cash flows in currencies without a mark: not in cash
    fee_conversions: dict[str, Price]  # currency → the mark used
    marks: dict[str, Price]
    trips: Trips  # round trips of the fills, all symbols
    reported_pnl: Decimal  # Σ bot-reported PnL of non-void fills
    reported_fills: int
    open_trip_fees: Decimal = ZERO  # base-currency fees paid by the positions still open

    @property
    def net_pnl(self) -> Decimal:
        return self.realized_pnl - self.fees + self.funding


def cash_flow_totals(account: Account, *, since: datetime | None = None,
                     until: datetime | None = None) -> dict[tuple[str, str], Decimal]:
    """Σ amount by (kind, CURRENCY). PostgreSQL sums numeric exactly in SQL; SQLite
    stores amounts as text, so there the sum is done in Python with Decimal."""
    qs = CashFlow.objects.filter(account=account)
    if since is not None:
        qs = qs.filter(ts__gte=since)
    if until is not None:
        qs = qs.filter(ts__lt=until)
    totals: dict[tuple[str, str], Decimal] = {}
    if connection.vendor == "postgresql":
        for kind, currency, total in qs.values_list("kind", "currency").annotate(total=Sum("amount")).order_by():
            key = (kind, currency.upper())
            totals[key] = totals.get(key, ZERO) + total
    else:
        with localcontext(AMOUNT_CONTEXT):
            for kind, currency, amount in qs.values_list("kind", "currency", "amount").order_by():
                key = (kind, currency.upper())
                totals[key] = totals.get(key, ZERO) + amount
    return totals


class Converter:
    """Converts amounts of other currencies into the base at the newest mark of the currency in the
    base, under any of its spellings (`conversion_symbols`: BNBUSDT, BNB/USDT, BNB-USDT, BNB/USDT:USDT)."""

    def __init__(self, account: Account, known: dict[str, Price]):
        self.account = account
        self.base = account.base_currency.upper()
        self.known = known
        self.used: dict[str, Price] = {}
        self.rates: dict[str, Price | None] = {}

    def price(self, currency: str) -> Price | None:
        if currency not in self.rates:
            symbols = conversion_symbols(currency, self.base)
            self.rates[currency] = pick([*(self.known.get(s) for s in symbols), newest_price(self.account, symbols)])
        return self.rates[currency]

    def convert(self, amounts: dict[str, Decimal]) -> tuple[Decimal, dict[str, Decimal]]:
        """(Σ converted into the base, {currency: amount} that has no mark)."""
        total, missing = ZERO, {}
        with localcontext(AMOUNT_CONTEXT):
            for currency, amount in sorted(amounts.items()):
                if currency == self.base:
                    total += amount
                    continue
                price = self.price(currency)
                if price is None:
                    missing[currency] = amount
                else:
                    self.used[currency] = price
                    total += q18(amount * price.price)
        return total, missing


def valuation(*, account: Account) -> Valuation:
    """The account's books now (SPEC 5), valued at the newest marks."""
    positions: list[PositionView] = []
    marks: dict[str, Price] = {}
    trips = Trips()
    realized = unrealized = base_fees = positions_value = reported = ZERO
    other_fees: dict[str, Decimal] = {}
    fills = reported_fills = open_count = 0
    open_trip_fees = ZERO
    with localcontext(AMOUNT_CONTEXT):
        for state in states_with_prices(account):
            book = book_from_state(account, state)
            price = price_of_state(state)
            if price is not None:
                marks[state.symbol] = price
            q = state.quantity
            upnl = ZERO
            if q != 0 and price is not None and state.average_price is not None:
                upnl = q18(q * (price.price - state.average_price))
                positions_value += q18(abs(q) * price.price)
            reported_size = None
            if state.rep_size is not None:
                reported_size = -state.rep_size if state.rep_side == "short" else state.rep_size
            positions.append(PositionView(
                symbol=state.symbol, quantity=q, average_price=state.average_price,
                realized_pnl=state.realized_pnl, fees=state.fees, mark_price=price.price if price else None,
                mark_source=price.source if price else None, unrealized_pnl=upnl,
                unconverted_fees=book.unconverted_fees, fill_count=state.fill_count,
                last_executed_at=state.last_executed_at, reported_size=reported_size, reported_at=state.rep_ts,
            ))
            realized += state.realized_pnl
            unrealized += upnl
            base_fees += state.fees
            for currency, amount in book.unconverted_fees.items():
                other_fees[currency] = other_fees.get(currency, ZERO) + amount
            fills += state.fill_count
            open_count += q != 0
            reported += book.reported_pnl
            reported_fills += book.reported_count
            t = book.trips
            if q != 0:
                open_trip_fees += t.current_fees
            trips.count += t.count
            trips.wins += t.wins
            trips.losses += t.losses
            trips.won += t.won
            trips.lost += t.lost

        converter = Converter(account, dict(marks))
        converted_fees, unconverted_fees = converter.convert(other_fees)
        fees = base_fees + converted_fees

        by_currency: dict[str, Decimal] = {}
        funding_by_currency: dict[str, Decimal] = {}
        external_by_currency: dict[str, Decimal] = {}
        for (kind, currency), total in cash_flow_totals(account).items():
            by_currency[currency] = by_currency.get(currency, ZERO) + total
            if kind == FUNDING:
                funding_by_currency[currency] = funding_by_currency.get(currency, ZERO) + total
            elif kind in EXTERNAL_KINDS:
                external_by_currency[currency] = external_by_currency.get(currency, ZERO) + total
        all_flows, unconverted_flows = converter.convert(by_currency)
        funding, _ = converter.convert(funding_by_currency)
        external, _ = converter.convert(external_by_currency)

        cash = account.initial_capital + all_flows + realized - fees
        equity = cash + unrealized
    closed = ClosedTradeTally.objects.filter(account=account).aggregate(n=Sum("trades"))["n"] or 0
    return Valuation(
        account_id=account.pk, base_currency=account.base_currency, at=timezone.now(),
        initial_capital=account.initial_capital, positions=positions, cash=cash, equity=equity,
        realized_pnl=realized, unrealized_pnl=unrealized, fees=fees, funding=funding, cash_flows=external,
        other_flows=all_flows - funding - external, positions_value=positions_value, positions_count=open_count,
        closed_trades=closed or trips.count, fills=fills, unconverted_fees=unconverted_fees,
        unconverted_cash_flows=unconverted_flows, fee_conversions=converter.used, marks=marks, trips=trips,
        reported_pnl=reported, reported_fills=reported_fills, open_trip_fees=open_trip_fees,
    )


def positions(*, account: Account) -> list[PositionView]:
    """Every symbol the account has booked fills in (flat ones too), valued at the newest mark."""
    return [p for p in valuation(account=account).positions if p.fill_count or p.quantity]
