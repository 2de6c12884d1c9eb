"""PositionState maintenance: incremental apply_fills against the full recompute."""

import random
import threading
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import T0, make_account, make_fill
from trades.books import apply_fills, recompute_symbols
from trades.books.state import stream_books
from trades.models import Fill, PositionState

COMPARED = ["quantity", "average_price", "realized_pnl", "fees", "unconverted_fees", "lots", "fill_count",
            "last_executed_at", "last_fill_pk", "last_price"]


def stored(account):
    """The stored states; one left without fills (all voided) must be empty and is left out,
    as a recompute from the fills alone does not know the symbol."""
    out = {}
    for s in PositionState.objects.filter(account=account).order_by("symbol"):
        if s.fill_count == 0:
            assert (s.quantity, s.realized_pnl, s.fees, s.average_price, s.unconverted_fees) == (0, 0, 0, None, {})
            continue
        out[s.symbol] = {f: getattr(s, f) for f in COMPARED}
    return out


def recomputed(account):
    """What a recompute from the fills alone gives, without writing it."""
    from trades.books.state import book_to_state

    out = {}
    for symbol, book in stream_books(account):
        s = book_to_state(book, PositionState(account=account, symbol=symbol))
        s.save = None  # never stored
        out[symbol] = {f: getattr(s, f) for f in COMPARED}
    return out


def normalized(states):
    """Decimals compared by value (the database may give 1.000… for 1)."""
    return {sym: {k: (D(v) if isinstance(v, D) else v) for k, v in row.items()} for sym, row in states.items()}


def void(fill):
    Fill.objects.filter(pk=fill.pk).update(voided_at=timezone.now(), void_reason="test")
    fill.refresh_from_db()


def test_apply_fills_books_new_fills_incrementally(account):
    f1 = make_fill(account, side="buy", price=D("100"), quantity=D("2"), fee=D("0.2"), fee_currency="USDT")
    apply_fills(account=account, fills=[f1])
    f2 = make_fill(account, side="sell", price=D("130"), quantity=D("1"), fee=D("0.1"), fee_currency="USDT")
    apply_fills(account=account, fills=[f2])
    s = PositionState.objects.get(account=account, symbol="BTCUSDT")
    assert (s.quantity, s.average_price, s.realized_pnl, s.fees, s.fill_count) == (D(1), D(100), D(30), D("0.3"), 2)
    assert s.last_fill_pk == f2.pk and s.last_price == D("130")


def test_an_older_fill_recomputes_its_symbol(account):
    late = make_fill(account, side="buy", price=D("90"), quantity=D("1"), executed_at=T0)
    f1 = make_fill(account, side="buy", price=D("100"), quantity=D("1"), executed_at=T0 + timedelta(hours=1))
    f2 = make_fill(account, side="sell", price=D("120"), quantity=D("1"), executed_at=T0 + timedelta(hours=2))
    apply_fills(account=account, fills=[f1, f2])
    apply_fills(account=account, fills=[late])
    s = PositionState.objects.get(account=account, symbol="BTCUSDT")
    # average over 90 and 100 = 95; sell 1 @120 → 25
    assert s.realized_pnl == D("25") and s.quantity == D("1") and s.average_price == D("95")
    assert normalized(stored(account)) == normalized(recomputed(account))


def test_applying_the_same_fills_twice_changes_nothing(account):
    fills = [make_fill(account, side=s, price=D(p), quantity=D("1")) for s, p in [("buy", "10"), ("sell", "12")]]
    apply_fills(account=account, fills=fills)
    before = stored(account)
    apply_fills(account=account, fills=fills)
    assert normalized(stored(account)) == normalized(before)


def test_a_voided_fill_leaves_the_books_after_recompute(account):
    f1 = make_fill(account, side="buy", price=D("100"), quantity=D("1"))
    f2 = make_fill(account, side="sell", price=D("150"), quantity=D("1"))
    apply_fills(account=account, fills=[f1, f2])
    void(f2)
    recompute_symbols(account=account, symbols=["BTCUSDT"])
    s = PositionState.objects.get(account=account, symbol="BTCUSDT")
    assert s.realized_pnl == 0 and s.quantity == D("1") and s.fill_count == 1


def test_a_batch_of_many_fills_takes_a_constant_number_of_queries(account):
    fills = [make_fill(account, symbol=f"S{i % 5}", side="buy" if i % 3 else "sell", price=D(100 + i % 7),
                       quantity=D("0.5")) for i in range(300)]
    with CaptureQueriesContext(connection) as ctx:
        apply_fills(account=account, fills=fills)
    assert len(ctx.captured_queries) <= 8
    assert normalized(stored(account)) == normalized(recomputed(account))


def test_another_accounts_fills_never_touch_ours(account, other_account):
    mine = make_fill(account, side="buy", price=D("100"), quantity=D("1"))
    theirs = make_fill(other_account, side="buy", price=D("5"), quantity=D("7"))
    apply_fills(account=account, fills=[mine])
    apply_fills(account=other_account, fills=[theirs])
    recompute_symbols(account=other_account, symbols=["BTCUSDT"])
    assert PositionState.objects.get(account=account).quantity == D("1")


prices = st.decimals(min_value=D("1"), max_value=D("1000"), places=2)
quantities = st.decimals(min_value=D("0.01"), max_value=D("10"), places=3)
fills_strategy = st.lists(
    st.tuples(st.sampled_from(["AAA", "BBB"]), st.sampled_from(["buy", "sell"]), prices, quantities,
              st.decimals(min_value=D("0"), max_value=D("1"), places=4), st.sampled_from(["USDT", "BNB"]),
              st.integers(0, 10_000)),
    min_size=1, max_size=20,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=fills_strategy, cost_basis=st.sampled_from(["average", "fifo"]), seed=st.integers(0, 2**32),
       voids=st.sets(st.integers(0, 19), max_size=4))
def test_incremental_state_equals_full_recompute_in_any_arrival_order(db, items, cost_basis, seed, voids):
    """Fills arrive in random order and random batches, some are voided later: the
    stored state equals a recompute from the fills alone, and a second account given
    the same fills sorted by time ends with the same books."""
    rng = random.Random(seed)
    account = make_account(cost_basis=cost_basis)
    sorted_account = make_account(cost_basis=cost_basis)
    rows = [
        dict(symbol=sym, side=side, price=p, quantity=q, fee=fee, fee_currency=cur,
             executed_at=T0 + timedelta(seconds=sec, microseconds=i), external_id=f"x{i}")
        for i, (sym, side, p, q, fee, cur, sec) in enumerate(items)
    ]
    arrival = rows[:]
    rng.shuffle(arrival)
    created = []
    while arrival:
        batch = [make_fill(account, **r) for r in arrival[: rng.randint(1, 4)]]
        arrival = arrival[len(batch):]
        created.extend(batch)
        apply_fills(account=account, fills=batch)
    for fill in sorted(created, key=lambda f: (f.executed_at, f.pk)):
        apply_fills(account=sorted_account, fills=[make_fill(sorted_account, **{k: getattr(fill, k) for k in (
            "symbol", "side", "price", "quantity", "fee", "fee_currency", "executed_at", "external_id")})])

    def books_of(acct):
        return {sym: {k: v for k, v in row.items() if k != "last_fill_pk"} for sym, row in stored(acct).items()}

    assert normalized(books_of(account)) == normalized(books_of(sorted_account))

    voided = [f for i, f in enumerate(created) if i in voids]
    for fill in voided:
        void(fill)
    recompute_symbols(account=account, symbols={f.symbol for f in voided})
    assert normalized(stored(account)) == normalized(recomputed(account))


def test_recompute_reads_values_with_backslashes_and_tabs_exactly(account):
    """On PostgreSQL the recompute streams COPY text, which escapes these characters."""
    odd = [{"amount": "0.25", "currency": "X\\N"}, {"amount": "0.5", "currency": "T\tB"}]
    f1 = make_fill(account, symbol="ODD\\USDT", side="buy", price=D("10"), quantity=D("1"), other_fees=odd)
    f2 = make_fill(account, symbol="ODD\\USDT", side="sell", price=D("12"), quantity=D("1"), reported_pnl=D("2"))
    apply_fills(account=account, fills=[f1, f2])
    assert normalized(stored(account)) == normalized(recomputed(account))
    s = PositionState.objects.get(account=account)
    assert s.unconverted_fees == {"X\\N": "0.25", "T\tB": "0.5"} and s.realized_pnl == D("2")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serializes writers: no race to test")
def test_concurrent_ingests_of_one_symbol_end_with_exact_books():
    """Writers book fills of the same symbol at the same moment, each in its own
    transaction: the state lock serializes them and the books equal a recompute."""
    account = make_account(cost_basis="average")
    # The state row exists already (committed): only its lock can serialize the writers.
    apply_fills(account=account, fills=[make_fill(account, symbol="RACE", executed_at=T0 - timedelta(days=1))])
    writers = 4
    barrier = threading.Barrier(writers)
    errors: list = []

    def write(n: int) -> None:
        try:
            rng = random.Random(n)
            with transaction.atomic():
                fills = [
                    make_fill(account, symbol="RACE", side=rng.choice(["buy", "sell"]), price=D(rng.randint(90, 110)),
                              quantity=D(rng.randint(1, 5)), executed_at=T0 + timedelta(seconds=rng.randint(0, 100)))
                    for _ in range(5)
                ]
                barrier.wait(timeout=10)  # every writer has inserted its fills, none has booked them
                apply_fills(account=account, fills=fills)
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert PositionState.objects.get(account=account, symbol="RACE").fill_count == writers * 5 + 1
    assert normalized(stored(account)) == normalized(recomputed(account))


def test_the_incremental_path_stamps_updated_at(account):
    apply_fills(account=account, fills=[make_fill(account)])
    before = PositionState.objects.get(account=account).updated_at
    apply_fills(account=account, fills=[make_fill(account)])
    assert PositionState.objects.get(account=account).updated_at > before


def test_recomputing_an_account_whose_fills_were_never_booked_creates_its_positions(account):
    # Fills loaded behind the books' back (a bulk load, a restore): no position state yet.
    from trades.books import recompute_account

    make_fill(account, symbol="BTCUSDT", side="buy", price=D("100"), quantity=D("2"))
    make_fill(account, symbol="ETHUSDT", side="sell", price=D("10"), quantity=D("3"))
    assert not PositionState.objects.filter(account=account).exists()
    recompute_account(account=account)
    assert {s.symbol: s.quantity for s in PositionState.objects.filter(account=account)} == {
        "BTCUSDT": D("2"), "ETHUSDT": D("-3")}
