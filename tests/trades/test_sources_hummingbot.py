"""A hummingbot trades database (built as hummingbot builds it: tests/trades/hummingbot_db.py),
imported and followed: fills with their fees, orders with their status, funding; keys the
database's own, so nothing is booked twice."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from tests.factories import make_account
from tests.trades.hummingbot_db import Recorder, fee
from trades.models import CashFlow, Event, Fill, Order, Source
from trades.sources.sync import sync_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return make_account("hb", base_currency="USDT")


@pytest.fixture
def bot(tmp_path):
    recorder = Recorder(f"sqlite:///{tmp_path / 'conf_pmm_btc.sqlite'}")
    recorder.path = tmp_path / "conf_pmm_btc.sqlite"
    yield recorder
    recorder.close()


def trade_a_little(bot):
    bot.create("buy-1", "buy", at=1735689600000)
    bot.fill("buy-1", "T1", "buy", at=1735689601000)
    bot.status("buy-1", "BuyOrderCompleted", at=1735689601500)
    bot.create("sell-1", "sell", price="30300", amount="0.02", at=1735689610000)
    bot.fill("sell-1", "T2", "sell", price="30300", amount="0.005", at=1735689611000,
             fee=fee(flat=[("BNB", "0.00002")], kind="DeductedFromReturns"))
    bot.status("sell-1", "OrderCancelled", at=1735689612000)


def test_import_books_fills_fees_and_orders_with_their_status(account, bot):
    trade_a_little(bot)
    out = StringIO()
    call_command("import_hummingbot", str(bot.path), "--account", "hb", stdout=out, stderr=StringIO())
    assert out.getvalue() == f"sqlite:///{bot.path}: 4 items into hb: 4 created, 0 duplicate, 0 updated.\n"
    fills = {f.external_id: f for f in Fill.objects.filter(account=account)}
    assert (fills["T1"].side, fills["T1"].quantity, fills["T1"].fee, fills["T1"].fee_currency) == (
        "buy", Decimal("0.01"), Decimal("0.3"), "USDT")
    assert (fills["T2"].fee, fills["T2"].fee_currency) == (Decimal("0.00002"), "BNB")
    orders = {o.external_id: (o.side, o.status) for o in Order.objects.filter(account=account)}
    assert orders == {"buy-1": ("buy", "filled"), "sell-1": ("sell", "canceled")}
    again = StringIO()
    call_command("import_hummingbot", str(bot.path), "--account", "hb", stdout=again, stderr=StringIO())
    assert again.getvalue().endswith("0 created, 4 duplicate, 0 updated.\n")


def test_a_source_follows_the_bot_as_it_writes(account, bot):
    source = Source.objects.create(account=account, name="hb", kind="hummingbot",
                                   location=f"sqlite:///{bot.path}")
    bot.create("buy-1", "buy", at=1735689600000)
    first = sync_source(source_id=source.pk)
    assert first.counts == {"created": 1, "duplicate": 0, "updated": 0}
    assert Order.objects.get(account=account).status == "new"
    bot.fill("buy-1", "T1", "buy", at=1735689601000)
    bot.status("buy-1", "BuyOrderCompleted", at=1735689601500)
    bot.funding(1735693200, -0.25)
    second = sync_source(source_id=source.pk)
    assert second.counts == {"created": 2, "duplicate": 0, "updated": 1}
    assert Order.objects.get(account=account).status == "filled"
    assert list(CashFlow.objects.filter(account=account).values_list("kind", "amount", "currency")) == [
        ("funding", Decimal("-0.25"), "USDT")]
    events = Event.objects.filter(account=account).count()
    idle = sync_source(source_id=source.pk)  # re-reads its look-back window: nothing new, nothing journaled
    assert idle.counts == {"created": 0, "duplicate": 0, "updated": 0}
    assert Event.objects.filter(account=account).count() == events
    full = sync_source(source_id=source.pk, full=True)
    assert full.counts == {"created": 0, "duplicate": 3, "updated": 0}


def test_a_database_that_is_not_hummingbots_is_said_so(account, tmp_path):
    import sqlite3

    path = tmp_path / "x.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE x (a)").connection.close()
    source = Source.objects.create(account=account, name="x", kind="hummingbot", location=f"sqlite:///{path}")
    result = sync_source(source_id=source.pk)
    assert result.error == f"sqlite:///{path}: not a hummingbot trades database (no 'TradeFill' table)"
