"""import_freqtrade: freqtrade's own databases (tests/trades/fixtures/freqtrade, written by freqtrade 2026.9)
booked as the bot meant, agreeing with freqtrade's close_profit_abs."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import make_account
from tests.trades.freqtrade_data import bot_file, expected, figure
from trades.books import report
from trades.books.valuation import valuation
from trades.models import CashFlow, Event, Fill, Trade

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("import_freqtrade", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def account():
    return make_account("ft", base_currency="USDT", initial_capital=Decimal("10000"))


def test_it_books_freqtrades_trades_and_agrees_with_its_profit(account, tmp_path):
    path = bot_file(tmp_path)
    out = run(str(path), "--account", "ft")
    assert out == f"sqlite:///{path}: 8 trades, 32 items into ft: 26 created, 0 duplicate, 6 updated.\n"
    ft = expected("t1")
    trades = {t.external_id: t for t in Trade.objects.filter(account=account)}
    assert sorted(trades) == ["ft-1", "ft-2", "ft-3", "ft-4", "ft-6", "ft-7"]  # the closed ones
    funding = {}
    for flow in CashFlow.objects.filter(account=account):
        trade_id = flow.meta["freqtrade_trade"]
        funding[trade_id] = funding.get(trade_id, Decimal(0)) + flow.amount
    for key, trade in trades.items():
        theirs = figure(ft["trades"][key[3:]]["close_profit_abs"])
        ours = trade.pnl + funding.get(int(key[3:]), Decimal(0))
        assert trade.reported_pnl == theirs
        # BNB: freqtrade charges its rate on the net entry value (0.5994 USDT) where 0.002 BNB (0.6) was taken.
        assert abs(theirs - ours) <= Decimal("1e-8") or (key, theirs - ours) == ("ft-4", Decimal("0.0006")), key
    assert trades["ft-2"].quantity == Decimal("0.02") and trades["ft-2"].pnl == Decimal("-2.6135")
    assert (trades["ft-3"].entry_fee, trades["ft-3"].leverage, trades["ft-3"].margin) == (
        Decimal("0.75"), Decimal("3"), Decimal("500"))
    entry = Fill.objects.get(account=account, external_id="ft-order-s-1")
    assert entry.fee == trades["ft-3"].entry_fee


def test_the_summary_has_freqtrades_funding_counts_and_no_phantom_position(account, tmp_path):
    run(str(bot_file(tmp_path)), "--account", "ft")
    ft = expected("t1")
    summary = report.summary(account=account)
    assert summary["closed_trades"] == ft["closed_trades"] == 6
    assert summary["funding"] == round(figure(ft["funding"]), 8) == Decimal("-0.39")
    assert summary["win_rate"] == Decimal("66.66666667")  # 4 of 6, as freqtrade's
    positions = {p.symbol: p.quantity for p in valuation(account=account).positions}
    assert positions["BNB/USDT"] == 0  # no 0.002 BNB left over
    # Σ trade PnL + funding = Σ close_profit_abs of the closed trades, but for the BNB convention (0.0006).
    closed = sum((t.pnl for t in Trade.objects.filter(account=account)), Decimal(0))
    assert round(figure(ft["total_closed_profit"]), 8) - (closed + summary["funding"]) == Decimal("0.0006")


def test_reimporting_books_nothing_twice(account, tmp_path):
    path = bot_file(tmp_path)
    run(str(path), "--account", "ft")
    out = run(str(path), "--account", "ft")
    assert out.endswith("0 created, 32 duplicate, 0 updated.\n")
    assert Fill.objects.filter(account=account).count() == 17
    assert Event.objects.filter(account=account, channel="import_freqtrade").count() == 64


def test_a_missing_file_is_named_and_nothing_written(account, tmp_path):
    with pytest.raises(CommandError) as caught:
        run(str(tmp_path / "nope.sqlite"), "--account", "ft")
    assert str(caught.value) == f"nothing imported: {tmp_path / 'nope.sqlite'}: no such file"
    assert not Fill.objects.exists()


def test_a_file_that_is_not_freqtrades_is_refused(account, tmp_path):
    import sqlite3

    path = tmp_path / "other.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE x (a)").connection.close()
    with pytest.raises(CommandError) as caught:
        run(str(path), "--account", "ft")
    assert str(caught.value) == f"nothing imported: sqlite:///{path}: not a freqtrade database (no 'trades' table)"


def test_the_database_file_is_not_written(account, tmp_path):
    path = bot_file(tmp_path)
    before = path.read_bytes()
    run(str(path), "--account", "ft")
    assert path.read_bytes() == before
