"""The closed trades' tally: kept as trades close, equal to adding them up again, checked by verify_ledger."""

from decimal import Decimal as D

import pytest

from tests.factories import T0
from trades.books.tally import counted_again, stored
from trades.books.verify import verify_account
from trades.ingest import record
from trades.models import ClosedTradeTally

pytestmark = pytest.mark.django_db


def trade(n: int, exit_price: str, *, strategy: str = "", bot: str = "paper:a", reported: str | None = None):
    opening = {"type": "trade.open", "id": f"t{n}", "symbol": "BTCUSDT", "side": "long", "quantity": "2",
               "entry_price": "100", "entry_time": T0.isoformat(), "strategy": strategy, "bot": bot,
               "entry_fee": "0.5"}
    closing = {"type": "trade.close", "id": f"t{n}", "exit_price": exit_price, "exit_time": T0.isoformat(),
               "exit_fee": "0.5"}
    if reported is not None:
        closing["reported_pnl"] = reported
    return [opening, closing]


def test_closed_trades_are_tallied_as_they_close_one_by_one_or_in_a_run(account):
    record(accounts=[account], items=trade(1, "110", strategy="breakout", reported="18.9"))  # +19
    record(accounts=[account], items=trade(2, "95", strategy="breakout") + trade(3, "101", bot="paper:b")
           + trade(4, "100.5"))  # −11, +1, 0: a run of closes
    tally = stored(account)
    assert tally == counted_again(account)
    assert {strategy for _bot, strategy in tally} == {"breakout", ""}
    rows = {row.strategy or row.bot_id: row for row in ClosedTradeTally.objects.filter(account=account)}
    breakout = rows["breakout"]
    assert (breakout.trades, breakout.wins, breakout.losses, breakout.won, breakout.lost) == (2, 1, 1, D(19), D(-11))
    assert (breakout.reported, breakout.reported_pnl) == (1, D("18.9"))
    assert sum(row.trades for row in rows.values()) == 4
    assert sum(row.counted - row.wins - row.losses for row in rows.values()) == 1  # the one that broke even


def test_a_resent_close_is_not_tallied_twice(account):
    items = trade(1, "110")
    record(accounts=[account], items=items)
    assert record(accounts=[account], items=items).counts["duplicate"] == 2
    assert stored(account) == counted_again(account)
    assert ClosedTradeTally.objects.get(account=account).trades == 1


def test_verify_ledger_finds_a_wrong_tally_and_repair_counts_again(account):
    record(accounts=[account], items=trade(1, "110") + trade(2, "90"))
    ClosedTradeTally.objects.filter(account=account).update(wins=5)
    found = verify_account(account=account, repair=True)
    assert [d.field for d in found.differences] == ["closed trade tally"]
    assert verify_account(account=account).differences == []
    assert ClosedTradeTally.objects.get(account=account).wins == 1
