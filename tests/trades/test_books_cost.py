"""The cost engines (trades.books.cost), without the database: hand examples and invariants."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import T0
from trades.books.cost import Book, fill_fees


def book(fifo=False):
    return Book(fifo=fifo, base="USDT")


def feed(b: Book, fills):
    for i, (side, price, qty, *fee) in enumerate(fills):
        fees = [(D(fee[0]), fee[1] if len(fee) > 1 else "USDT")] if fee else []
        b.apply(side=side, price=D(price), quantity=D(qty), fees=fees, executed_at=T0 + timedelta(seconds=i), pk=i + 1)
    return b


# -- hand-computed examples ---------------------------------------------------------------------

def test_average_cost_opens_adds_and_partially_closes():
    b = feed(book(), [("buy", "100", "1"), ("buy", "110", "3"), ("sell", "120", "2")])
    # p = (1·100 + 3·110) / 4 = 107.5; close 2 → realized 2·(120 − 107.5) = 25
    assert b.quantity == D("2")
    assert b.average_price == D("107.5")
    assert b.realized_pnl == D("25")


def test_average_cost_flip_opens_the_rest_at_the_fill_price():
    b = feed(book(), [("buy", "100", "2"), ("sell", "90", "5")])
    # close 2 at a loss of 10 each; the other 3 open short at 90
    assert b.realized_pnl == D("-20")
    assert b.quantity == D("-3")
    assert b.average_price == D("90")


def test_short_position_profits_when_price_falls():
    b = feed(book(), [("sell", "200", "1.5"), ("sell", "180", "0.5"), ("buy", "150", "2")])
    # p = (1.5·200 + 0.5·180)/2 = 195; realized = 2·(150 − 195)·(−1) = 90
    assert b.realized_pnl == D("90")
    assert b.quantity == 0
    assert b.average_price is None


def test_fifo_closes_oldest_lots_first():
    b = feed(book(fifo=True), [("buy", "100", "1"), ("buy", "110", "1"), ("sell", "120", "1.5")])
    # 1 @100 → +20, 0.5 @110 → +5
    assert b.realized_pnl == D("25")
    assert b.quantity == D("0.5")
    assert b.average_price == D("110")
    assert [[q, p] for q, p in b.lots] == [[D("0.5"), D("110")]]


def test_fifo_flip_opens_a_new_lot_for_the_rest():
    b = feed(book(fifo=True), [("buy", "100", "1"), ("buy", "104", "1"), ("sell", "102", "3")])
    # +2 on the first lot, −2 on the second: 0; then short 1 @102
    assert b.realized_pnl == D("0")
    assert b.quantity == D("-1")
    assert b.average_price == D("102")
    assert b.trips.count == 1


def test_average_and_fifo_differ_on_the_same_fills():
    fills = [("buy", "100", "1"), ("buy", "200", "1"), ("sell", "300", "1")]
    assert feed(book(), fills).realized_pnl == D("150")  # 300 − 150
    assert feed(book(fifo=True), fills).realized_pnl == D("200")  # 300 − 100


def test_fees_in_base_count_and_other_currencies_are_kept_apart():
    b = feed(book(), [("buy", "100", "1", "0.1"), ("sell", "110", "1", "0.002", "BNB")])
    assert b.fees == D("0.1")
    assert b.unconverted_fees == {"BNB": D("0.002")}


def test_round_trip_pnl_is_realized_minus_its_fees():
    b = feed(book(), [("buy", "100", "1", "0.5"), ("sell", "110", "1", "0.5"),
                      ("sell", "100", "1", "0.1"), ("buy", "105", "1", "0.1")])
    assert b.trips.count == 2
    assert b.trips.wins == 1 and b.trips.losses == 1
    assert b.trips.won == D("9")  # 10 − 1
    assert b.trips.lost == D("-5.2")  # −5 − 0.2


def test_fill_fees_reads_the_fees_list_and_defaults_to_the_base():
    fees = fill_fees(D("1"), "", [{"amount": "0.5", "currency": "bnb"}, {"amount": "0"}], "USDT")
    assert fees == ((D("1"), "USDT"), (D("0.5"), "BNB"))


def test_average_price_is_rounded_once_per_fill_to_18_places():
    b = feed(book(), [("buy", "1", "1"), ("buy", "2", "2")])
    assert b.average_price == D("1.666666666666666667")


# -- invariants ---------------------------------------------------------------------------------

prices = st.decimals(min_value=D("0.5"), max_value=D("50000"), places=2)
quantities = st.decimals(min_value=D("0.0001"), max_value=D("50"), places=4)
fee_amounts = st.decimals(min_value=D("0"), max_value=D("5"), places=6)
fill = st.tuples(st.sampled_from(["buy", "sell"]), prices, quantities, fee_amounts,
                 st.sampled_from(["USDT", "USDT", "BNB", "BTC"]))
fill_lists = st.lists(fill, min_size=1, max_size=25)


def run(fills, fifo):
    b = book(fifo)
    for i, (side, price, qty, fee, cur) in enumerate(fills):
        b.apply(side=side, price=price, quantity=qty, fees=[(fee, cur)], executed_at=T0 + timedelta(seconds=i),
                pk=i + 1)
    return b


@pytest.mark.parametrize("fifo", [False, True])
@settings(max_examples=150, deadline=None)
@given(fills=fill_lists, data=st.data())
def test_splitting_a_fill_keeps_realized_pnl(fifo, fills, data):
    i = data.draw(st.integers(0, len(fills) - 1))
    side, price, qty, fee, cur = fills[i]
    part = data.draw(st.decimals(min_value=D("0.0001"), max_value=qty, places=4))
    if part == qty:
        return
    split = fills[:i] + [(side, price, part, fee, cur), (side, price, qty - part, D(0), cur)] + fills[i + 1:]
    whole, parts = run(fills, fifo), run(split, fifo)
    assert parts.quantity == whole.quantity
    assert parts.fees == whole.fees
    if fifo:  # no division anywhere: exact
        assert parts.realized_pnl == whole.realized_pnl
        assert parts.average_price == whole.average_price
    else:  # average prices are rounded per fill (18 places): equal far below a cent
        assert abs(parts.realized_pnl - whole.realized_pnl) < D("1e-9")


@pytest.mark.parametrize("fifo", [False, True])
@settings(max_examples=150, deadline=None)
@given(fills=fill_lists)
def test_fees_add_up_exactly(fifo, fills):
    b = run(fills, fifo)
    assert b.fees == sum((f[3] for f in fills if f[4] == "USDT"), D(0))
    for cur in ("BNB", "BTC"):
        total = sum((f[3] for f in fills if f[4] == cur), D(0))
        assert b.unconverted_fees.get(cur, D(0)) == total
    assert b.fill_count == len(fills)


@pytest.mark.parametrize("fifo", [False, True])
@settings(max_examples=150, deadline=None)
@given(opens=st.lists(st.tuples(prices, quantities), min_size=1, max_size=8), exit_price=prices,
       short=st.booleans())
def test_a_round_trip_realizes_the_hand_formula(fifo, opens, exit_price, short):
    side, close = ("sell", "buy") if short else ("buy", "sell")
    total = sum((q for _, q in opens), D(0))
    fills = [(side, p, q, D(0), "USDT") for p, q in opens] + [(close, exit_price, total, D(0), "USDT")]
    b = run(fills, fifo)
    direction = -1 if short else 1
    expected = sum((q * (exit_price - p) * direction for p, q in opens), D(0))
    assert b.quantity == 0
    assert b.trips.count == 1
    if fifo:
        assert b.realized_pnl == expected
    else:
        assert abs(b.realized_pnl - expected) < D("1e-9")


@pytest.mark.parametrize("fifo", [False, True])
@settings(max_examples=100, deadline=None)
@given(fills=fill_lists)
def test_position_is_the_signed_sum_of_quantities(fifo, fills):
    b = run(fills, fifo)
    assert b.quantity == sum((q if s == "buy" else -q for s, _, q, _, _ in fills), D(0))
    if fifo:
        assert sum((q for q, _ in b.lots), D(0)) == abs(b.quantity)
    assert (b.average_price is None) == (b.quantity == 0)


@pytest.mark.parametrize("fifo", [False, True])
@settings(max_examples=150, deadline=None)
@given(fills=fill_lists)
def test_round_trips_account_for_every_realized_pnl_and_fee(fifo, fills):
    """Every realized PnL and base fee belongs to one trip, closed or still open."""
    b = run(fills, fifo)
    t = b.trips
    assert t.won + t.lost + t.current == b.realized_pnl - b.fees
    assert t.count >= t.wins + t.losses
    assert 0 <= t.current_fees <= b.fees
    if b.quantity == 0:
        assert t.current == 0 and t.current_fees == 0


@pytest.mark.parametrize("fifo", [False, True])
@settings(max_examples=100, deadline=None)
@given(fills=fill_lists)
def test_per_fill_realized_pnl_adds_up_to_the_books(fifo, fills):
    """What performance-by-bot credits fill by fill is exactly the books' realized PnL."""
    b = book(fifo)
    realized: list = []
    b.run([(i, side, price, qty, [(fee, cur)], None, None) for i, (side, price, qty, fee, cur) in enumerate(fills)],
          realized)
    assert len(realized) == len(fills)
    assert sum(realized, D(0)) == b.realized_pnl == run(fills, fifo).realized_pnl
