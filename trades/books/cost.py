"""The cost engines of SPEC 5: average cost and FIFO, over fills, in pure Python.

No database here: `Book` is one (account, symbol) position fed fill after fill.
`trades.books.state` loads a Book from PositionState, feeds it the new fills and
stores it back; `recompute` feeds a fresh Book every fill of a symbol. Both paths
must give the very same stored numbers, hence ONE ROUNDING RULE:

    Every figure of a Book is quantized to 18 places (ROUND_HALF_EVEN) after each
    fill, i.e. the Book after a fill is exactly what PositionState stores.
    Within one fill the arithmetic is exact (AMOUNT_CONTEXT, 80 digits).

Sums of quantities and fees (already 18-place values) are exact anyway; the only
roundings are an average price (a division) and a fill's realized PnL (a product
of two 18-place numbers can have 36 places). Because the rounding happens at the
same point in both paths, an incremental state equals a full recompute bit for bit.

Fees: a fee in the account's base currency (or with no currency) is counted in
`fees`; a fee in another currency is kept per currency in `unconverted_fees`: its
value in the base currency depends on a mark, which the reports apply at read time
(so the stored state never depends on when it was computed).

Round trips (closed-trade statistics when the bot posts no Trade rows): a trip
opens when the position leaves zero and closes when it returns to zero or flips;
its PnL is the realized PnL of its fills minus their base-currency fees (the whole
fee of a flipping fill goes to the trip it closes).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, localcontext

from core.amounts import AMOUNT_CONTEXT, AMOUNT_QUANTUM, decimal_str

ZERO = Decimal(0)


def fill_fees(fee, fee_currency: str, other_fees, base: str) -> tuple[tuple[Decimal, str], ...]:
    """A fill's fees as (amount, CURRENCY); no currency means the base currency. `fee` may be
    a Decimal or its text (a COPY row's), zero in any spelling ("0.000…") being no fee."""
    fee = Decimal(fee) if fee else ZERO
    if not other_fees:  # nearly every fill: one fee or none (the recompute reads a million of them)
        return ((fee, (fee_currency or base).upper()),) if fee else ()
    out = [(fee, (fee_currency or base).upper())] if fee else []
    for item in other_fees:
        if not isinstance(item, dict):
            continue
        amount = item.get("amount")
        if amount in (None, ""):
            continue
        amount = Decimal(str(amount))
        if amount:
            out.append((amount, (item.get("currency") or base).upper()))
    return tuple(out)


def count_outcome(record, pnl: Decimal) -> None:
    """The one rule of wins and losses, for round trips and closed trades alike: PnL above 0 wins,
    below 0 loses, 0 breaks even. `record` has wins, losses, won and lost."""
    if pnl > 0:
        record.wins += 1
        record.won += pnl
    elif pnl < 0:
        record.losses += 1
        record.lost += pnl


@dataclass
class Trips:
    """Round-trip statistics of one symbol; `current` is the PnL of the open trip so far."""

    count: int = 0
    wins: int = 0
    losses: int = 0  # trips with PnL < 0; count - wins - losses broke even
    won: Decimal = ZERO  # sum of winning trips' PnL (> 0)
    lost: Decimal = ZERO  # sum of losing trips' PnL (< 0)
    current: Decimal = ZERO
    current_fees: Decimal = ZERO  # base-currency fees paid in the open trip so far

    def close(self) -> None:
        self.count += 1
        count_outcome(self, self.current)
        self.current = ZERO
        self.current_fees = ZERO

    def to_json(self) -> list:
        return [self.count, self.wins, self.losses, decimal_str(self.won), decimal_str(self.lost),
                decimal_str(self.current), decimal_str(self.current_fees)]

    @classmethod
    def from_json(cls, data) -> Trips:
        if not data:
            return cls()
        count, wins, losses, won, lost, current, *rest = data
        return cls(int(count), int(wins), int(losses), Decimal(won), Decimal(lost), Decimal(current),
                   Decimal(rest[0]) if rest else ZERO)


Key = tuple[int, str]  # who a fill's PnL is credited to: (its bot's id or 0, its trade's strategy or "")


@dataclass
class Share:
    """What the fills of one (bot, strategy) in one symbol earned and paid (the performance report)."""

    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO  # in the base currency
    other_fees: dict[str, Decimal] = field(default_factory=dict)
    fills: int = 0

    def add(self, other: Share) -> None:
        self.realized_pnl += other.realized_pnl
        self.fees += other.fees
        for currency, amount in other.other_fees.items():
            self.other_fees[currency] = self.other_fees.get(currency, ZERO) + amount
        self.fills += other.fills

    def to_json(self) -> list:
        return [decimal_str(self.realized_pnl), decimal_str(self.fees),
                {c: decimal_str(a) for c, a in sorted(self.other_fees.items())}, self.fills]

    @classmethod
    def from_json(cls, data) -> Share:
        realized, fees, other, fills = data
        return cls(Decimal(realized), Decimal(fees), {c: Decimal(a) for c, a in other.items()}, int(fills))


@dataclass
class Book:
    """One symbol's position under one cost basis."""

    fifo: bool
    base: str
    quantity: Decimal = ZERO  # signed, long > 0
    average_price: Decimal | None = None
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    unconverted_fees: dict[str, Decimal] = field(default_factory=dict)
    lots: deque = field(default_factory=deque)  # FIFO: [unsigned quantity, price], oldest first
    fill_count: int = 0
    last_executed_at: datetime | None = None
    last_fill_pk: int | None = None
    last_price: Decimal | None = None
    reported_pnl: Decimal = ZERO
    reported_count: int = 0  # fills that carried a reported PnL (a zero sum is not "none")
    trips: Trips = field(default_factory=Trips)
    shares: dict[Key, Share] = field(default_factory=dict)  # who earned what (see `attribute`)
    # FIFO: Σ lot quantity × lot price, exact, so the average is not re-summed each fill.
    _lot_cost: Decimal = ZERO

    def apply(self, *, side: str, price: Decimal, quantity: Decimal, fees=(), executed_at=None, pk=None,
              reported_pnl: Decimal | None = None) -> None:
        """Book one fill (already known not to be void). `fees`: [(amount, CURRENCY)]."""
        self.run([(pk, side, price, quantity, fees, executed_at, reported_pnl)])

    def apply_rows(self, rows) -> None:
        """Book fill rows as the database gives them — (pk, side, price, quantity, fee,
        fee_currency, other_fees, executed_at, reported_pnl) — in (executed_at, pk) order."""
        self.run(self.engine_rows(rows))

    def engine_rows(self, rows):
        """Fill rows as the database gives them, as `run` takes them: fees as [(amount, CURRENCY)]."""
        base = self.base
        return (
            (pk, side, price, quantity,
             fill_fees(fee, fee_currency, other_fees, base) if other_fees
             else ((fee, fee_currency.upper() if fee_currency else base),) if fee else (),
             executed_at, reported_pnl)
            for pk, side, price, quantity, fee, fee_currency, other_fees, executed_at, reported_pnl in rows
        )

    def run(self, rows, realized: list | None = None) -> None:
        """THE engine: book (pk, side, price, quantity, fees, executed_at, reported_pnl) rows
        in order; fees as [(amount, CURRENCY)]. Every other entry point comes here.

        Written as one loop over local variables: it books a million fills per
        verify_ledger run, and attribute look-ups per fill would double its cost.
        `realized`, when given, receives each fill's realized PnL (for attribution).
        """
        record = realized.append if realized is not None else None
        base, fifo = self.base, self.fifo
        q, avg, realized, fees_total = self.quantity, self.average_price, self.realized_pnl, self.fees
        unconverted, lots, lot_cost = self.unconverted_fees, self.lots, self._lot_cost
        trips = self.trips
        current, open_fees = trips.current, trips.current_fees
        count, reported_sum, reported_count = self.fill_count, self.reported_pnl, self.reported_count
        last = None
        quantum = AMOUNT_QUANTUM
        with localcontext(AMOUNT_CONTEXT):  # quantize() below rounds in this context: half-even
            for pk, side, price, x, fees, at, reported in rows:
                fee_base = ZERO
                for amount, currency in fees:
                    if currency == base:
                        fee_base += amount
                    else:
                        unconverted[currency] = unconverted.get(currency, ZERO) + amount
                fees_total += fee_base
                buy = side == "buy"
                if q == 0:
                    current = open_fees = ZERO  # a new trip opens
                open_fees += fee_base
                if q == 0 or (q > 0) == buy:
                    if fifo:
                        lots.append([x, price])
                        lot_cost += x * price
                        q = q + x if buy else q - x
                        avg = (lot_cost / abs(q)).quantize(quantum)
                    else:
                        size = abs(q)
                        avg = ((size * (avg or ZERO) + x * price) / (size + x)).quantize(quantum)
                        q = q + x if buy else q - x
                    current -= fee_base
                    pnl = ZERO
                else:
                    long = q > 0
                    if fifo:
                        remaining = x
                        pnl = ZERO
                        while remaining > 0 and lots:
                            lot = lots[0]
                            closed = remaining if remaining < lot[0] else lot[0]
                            pnl += closed * (price - lot[1]) if long else closed * (lot[1] - price)
                            lot_cost -= closed * lot[1]
                            if closed == lot[0]:
                                lots.popleft()
                            else:
                                lot[0] -= closed
                            remaining -= closed
                        pnl = pnl.quantize(quantum)
                        new_q = q + x if buy else q - x
                        if remaining > 0:  # a flip: the rest opens a lot at the fill's price
                            lots.clear()
                            lots.append([remaining, price])
                            lot_cost = remaining * price
                        if lots:
                            avg = (lot_cost / abs(new_q)).quantize(quantum)
                        else:
                            avg, lot_cost = None, ZERO
                    else:
                        size = abs(q)
                        closed = x if x < size else size
                        pnl = (closed * (price - avg) if long else closed * (avg - price)).quantize(quantum)
                        new_q = q + x if buy else q - x
                        if new_q == 0:
                            avg = None
                        elif x > closed:
                            avg = price
                    q = new_q
                    realized += pnl
                    current += pnl - fee_base
                    if q == 0 or (q > 0) != long:  # back to flat, or flipped: the trip is over
                        trips.current = current
                        trips.close()
                        current = open_fees = ZERO
                count += 1
                if record is not None:
                    record(pnl)
                if reported is not None:
                    reported_sum += reported
                    reported_count += 1
                last = (pk, price, at)
        trips.current, trips.current_fees = current, open_fees
        self.quantity, self.average_price, self.realized_pnl, self.fees = q, avg, realized, fees_total
        self._lot_cost = lot_cost
        self.fill_count, self.reported_pnl, self.reported_count = count, reported_sum, reported_count
        if last is not None:
            self.last_fill_pk, self.last_price, self.last_executed_at = last

    def attribute(self, rows: list, keys: list[Key]) -> None:
        """`run` these rows, and credit each fill's realized PnL and fees to its key: its own bot and
        the strategy of its trade (the one that closed a position earns the closing PnL)."""
        realized: list[Decimal] = []
        self.run(rows, realized)
        base, shares = self.base, self.shares
        with localcontext(AMOUNT_CONTEXT):
            for (_pk, _side, _price, _quantity, fees, _at, _reported), key, pnl in zip(rows, keys, realized,
                                                                                        strict=True):
                share = shares.get(key)
                if share is None:
                    share = shares[key] = Share()
                share.realized_pnl += pnl
                for amount, currency in fees:
                    if currency == base:
                        share.fees += amount
                    else:
                        share.other_fees[currency] = share.other_fees.get(currency, ZERO) + amount
                share.fills += 1

    def lots_json(self) -> dict:
        """What PositionState.lots holds: FIFO lots plus the running figures the model has
        no column for (round-trip statistics, the sum of bot-reported PnL, who earned what)."""
        return {
            # Canonical strings: the same number reads the same whichever path stored it.
            "lots": [[decimal_str(q), decimal_str(p)] for q, p in self.lots],
            "trips": self.trips.to_json(),
            "reported_pnl": decimal_str(self.reported_pnl),
            "reported_count": self.reported_count,
            "shares": {f"{bot_id}|{strategy}": share.to_json()
                       for (bot_id, strategy), share in sorted(self.shares.items())},
        }

    def load_lots_json(self, data) -> None:
        if isinstance(data, list):  # the model's documented plain shape
            data = {"lots": data}
        data = data or {}
        self.lots = deque([Decimal(q), Decimal(p)] for q, p in data.get("lots", ()))
        with localcontext(AMOUNT_CONTEXT):
            self._lot_cost = sum((q * p for q, p in self.lots), ZERO)
        self.trips = Trips.from_json(data.get("trips"))
        self.reported_pnl = Decimal(data.get("reported_pnl", "0"))
        self.reported_count = int(data.get("reported_count", 0))
        self.shares = {}
        for key, share in data.get("shares", {}).items():
            bot_id, strategy = key.split("|", 1)
            self.shares[(int(bot_id), strategy)] = Share.from_json(share)
