"""seed_demo: demo accounts with a realistic ledger, through ingest; re-running adds nothing."""

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Account, Bot
from snapshots.models import EquitySnapshot, Mark, PositionSnapshot, WalletSnapshot
from trades.models import CashFlow, Event, Fill, Order, PositionState, Signal, Trade

pytestmark = pytest.mark.django_db

MODELS = (Fill, Order, Trade, Signal, CashFlow, Mark, PositionSnapshot, WalletSnapshot, EquitySnapshot, Bot)


def counts() -> dict:
    return {model.__name__: model.objects.count() for model in MODELS}


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture(scope="module")
def seeded_twice(django_db_setup, django_db_blocker):
    """Seeding takes seconds: do it once for this module, in a transaction rolled back after."""
    from django.db import transaction
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            first_output = seed()
            first = counts()
            events = Event.objects.count()
            second_output = seed()
            second = counts(), Event.objects.count()
            forced_output = seed("--force")
            yield first_output, first, events, second_output, second, forced_output
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def test_it_makes_paper_and_testnet_accounts_with_a_real_ledger(seeded_twice):
    first = seeded_twice[1]
    kinds = set(Account.objects.filter(slug__startswith="demo-").values_list("kind", flat=True))
    assert kinds == {"paper", "testnet"}
    assert Account.objects.filter(slug__startswith="demo-").count() == 3
    assert 200 <= first["Fill"] <= 2000
    assert len(set(Fill.objects.values_list("symbol", flat=True))) >= 3
    assert first["Bot"] >= 4
    assert Trade.objects.filter(status="open").exists() and Trade.objects.filter(status="closed").count() > 50
    open_trade = Trade.objects.filter(status="open").first()
    assert open_trade.sl_price and open_trade.tp_price and open_trade.model and open_trade.confidence
    assert set(CashFlow.objects.values_list("kind", flat=True)) >= {"deposit", "funding"}
    assert first["Signal"] > 50 and first["Mark"] > 100 and first["EquitySnapshot"] > 100
    span = EquitySnapshot.objects.order_by("-exchange_ts").first().exchange_ts - \
        EquitySnapshot.objects.order_by("exchange_ts").first().exchange_ts
    assert span.days >= 21


def test_round_trips_go_back_to_flat_in_the_books(seeded_twice):
    # Every closed trade's fills net to zero; only symbols with an open trade hold a position.
    for account in Account.objects.filter(slug__startswith="demo-"):
        open_symbols = set(account.trades.filter(status="open").values_list("symbol", flat=True))
        for state in PositionState.objects.filter(account=account):
            if state.symbol not in open_symbols:
                assert state.quantity == 0, (account.slug, state.symbol)
        for trade in account.trades.filter(status="closed")[:20]:
            fills = Fill.objects.filter(account=account, trade_id=trade.external_id)
            assert sum(f.signed_quantity for f in fills) == 0


def test_rerunning_adds_nothing(seeded_twice):
    _out, first, events, second_output, second, _forced = seeded_twice
    assert second == (first, events)
    assert second_output.count("seeded before, nothing added") == 3


def test_forcing_reposts_the_same_items_as_duplicates(seeded_twice):
    _out, first, _events, _second_output, _second, forced_output = seeded_twice
    assert counts() == first
    for line in forced_output.splitlines():
        assert ": 0 created," in line and ", 0 updated" in line, line
