"""verify_ledger: recompute from the fills, compare with PositionState, exit 1 on any difference."""

from datetime import timedelta
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import T0, make_account, make_fill
from trades.books import apply_fills
from trades.models import PositionState


def run(*args):
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_ledger", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return 1, out.getvalue(), str(exc)
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def books(account, other_account):
    fifo = make_account("fifo-acct", cost_basis="fifo")
    for acct in (account, other_account, fifo):
        fills = [
            make_fill(acct, symbol=sym, side=side, price=D(p), quantity=D(q), fee=D("0.01"), fee_currency=cur,
                      executed_at=T0 + timedelta(minutes=i))
            for i, (sym, side, p, q, cur) in enumerate([
                ("BTCUSDT", "buy", "100", "1", "USDT"), ("BTCUSDT", "buy", "101.5", "0.5", "BNB"),
                ("ETHUSDT", "sell", "10", "3", "USDT"), ("BTCUSDT", "sell", "99", "2", "USDT"),
                ("ETHUSDT", "buy", "9.5", "1", "USDT"),
            ])
        ]
        apply_fills(account=acct, fills=fills[3:])
        apply_fills(account=acct, fills=fills[:3])  # older fills after newer: the recompute path
    return account


def test_consistent_books_have_no_differences(books):
    code, out, _ = run()
    assert code == 0
    assert "3 accounts, 6 symbols, 15 fills" in out
    assert out.strip().endswith("0 differences")


def test_a_difference_planted_in_the_database_is_found(books):
    PositionState.objects.filter(account=books, symbol="ETHUSDT").update(quantity=D("5"))
    code, out, message = run()
    assert code == 1
    assert "DIFFERENCE alpha ETHUSDT quantity" in out
    assert "1 differences" in message


def test_a_missing_state_and_a_stray_state_are_differences(books):
    PositionState.objects.filter(account=books, symbol="BTCUSDT").delete()
    PositionState.objects.create(account=books, symbol="XRPUSDT", quantity=D("1"), fill_count=1)
    code, out, _ = run("--account", "alpha")
    assert code == 1
    assert "alpha BTCUSDT state" in out and "alpha XRPUSDT quantity" in out


def test_only_the_named_account_is_checked(books, other_account):
    PositionState.objects.filter(account=other_account).update(fees=D("99"))
    assert run("--account", "alpha")[0] == 0
    assert run("--account", "charlie")[0] == 1


def test_repair_recomputes_what_differs(books):
    PositionState.objects.filter(account=books, symbol="BTCUSDT").update(realized_pnl=D("1"))
    code, out, _ = run("--repair")
    assert code == 1 and "1 symbols repaired" in out
    assert run()[0] == 0


def test_an_unknown_account_is_a_clear_error(books):
    code, _, message = run("--account", "nope")
    assert code == 1 and "nope" in message
