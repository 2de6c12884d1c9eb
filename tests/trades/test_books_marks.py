"""The states-with-marks query the valuation runs for every account (written once as SQL, run per account)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from snapshots.models import Mark, PositionSnapshot, SnapshotSource
from tests.factories import T0, make_account, make_fill
from trades import books
from trades.books.marks import price_of_state, states_with_prices
from trades.models import PositionState

pytestmark = pytest.mark.django_db
COMPARED = ("symbol", "quantity", "average_price", "realized_pnl", "fees", "lots", "fill_count", "last_executed_at",
            "last_price", "mark_px", "mark_ts", "pos_px", "pos_ts", "rep_size", "rep_side", "rep_ts")


def _orm_states(account_id: int):
    """The same question asked through the ORM: what the hand-written SQL must answer."""
    marks = Mark.objects.filter(account_id=account_id, symbol=OuterRef("symbol")).order_by("-ts", "-id")
    snaps = PositionSnapshot.objects.filter(
        account_id=account_id, symbol=OuterRef("symbol"), source=SnapshotSource.REPORTED
    ).order_by("-exchange_ts", "-id")
    priced = snaps.filter(mark_price__isnull=False)

    def newest(qs, column):
        return Subquery(qs.values(column)[:1], output_field=qs.model._meta.get_field(column))

    return PositionState.objects.filter(account_id=account_id).annotate(
        mark_px=newest(marks, "price"), mark_ts=newest(marks, "ts"),
        pos_px=newest(priced, "mark_price"), pos_ts=newest(priced, "exchange_ts"),
        rep_size=newest(snaps, "size"), rep_side=newest(snaps, "side"), rep_ts=newest(snaps, "exchange_ts"),
    ).order_by("symbol")


def _account_with_history(mark_price: str, snapshot_price: str, size: str):
    account = make_account()
    for symbol in ("BTCUSDT", "ETHUSDT"):
        make_fill(account, symbol=symbol, side="buy", price=Decimal("100"), quantity=Decimal("1.5"))
    books.recompute_symbols(account=account, symbols={"BTCUSDT", "ETHUSDT"})
    now = timezone.now()
    # An older and a newer mark, and reported snapshots: the newest of each must be picked.
    Mark.objects.create(account=account, symbol="BTCUSDT", price=Decimal("1"), ts=T0 + timedelta(days=1),
                        received_at=now)
    Mark.objects.create(account=account, symbol="BTCUSDT", price=Decimal(mark_price), ts=T0 + timedelta(days=2),
                        received_at=now)
    PositionSnapshot.objects.create(account=account, symbol="ETHUSDT", side="short", size=Decimal(size),
                                    mark_price=Decimal(snapshot_price), exchange_ts=T0 + timedelta(days=3),
                                    received_at=now)
    return account


def test_each_account_gets_its_own_marks_and_snapshots_as_the_orm_would_load_them():
    first = _account_with_history("101.25", "99.5", "0.5")
    second = _account_with_history("7.000000000000000001", "8.123456789012345678", "2")

    for account in (first, second, first):  # the statement written once serves every account
        loaded = states_with_prices(account)
        orm = list(_orm_states(account.pk))
        assert [s.symbol for s in loaded] == ["BTCUSDT", "ETHUSDT"]
        assert all(isinstance(s, PositionState) and s.account_id == account.pk for s in loaded)
        assert [[getattr(s, name) for name in COMPARED] for s in loaded] == \
               [[getattr(s, name) for name in COMPARED] for s in orm]

    btc, eth = states_with_prices(second)
    assert (btc.mark_px, btc.mark_ts, btc.pos_px) == (Decimal("7.000000000000000001"), T0 + timedelta(days=2), None)
    assert (eth.mark_px, eth.pos_px, eth.rep_size, eth.rep_side) == (
        None, Decimal("8.123456789012345678"), Decimal("2"), "short")
    assert price_of_state(eth).source == "position"
    assert isinstance(btc.mark_ts, type(timezone.now())) and btc.mark_ts.tzinfo is not None


def test_an_account_without_states_has_none():
    assert states_with_prices(make_account()) == []
