"""A freqtrade source: followed while the bot keeps writing, incrementally and exactly once.

The bot's file is a copy of freqtrade's own databases (tests/trades/fixtures/freqtrade): first
as freqtrade left it at a first moment (t0: trades 2, 5 and 6 open), then grown in place to a
later moment (t1: 2 and 6 closed, 7 and 8 new) — freqtrade's own writes, as a bot makes them.
"""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from tests.factories import make_account
from tests.trades.freqtrade_data import T0, T1, bot_file, copy_to, expected, figure
from trades.ingest import record
from trades.models import CashFlow, Event, Fill, Source, Trade
from trades.sources import freqtrade as reader
from trades.sources.sync import sync_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return make_account("ft", base_currency="USDT")


@pytest.fixture
def source(account, tmp_path):
    path = bot_file(tmp_path, T0)
    return Source.objects.create(account=account, name="bot", kind="freqtrade", location=f"sqlite:///{path}")


def booked(account) -> dict:
    return {
        "fills": sorted(Fill.objects.filter(account=account).values_list("external_id", "quantity", "fee")),
        "trades": sorted(Trade.objects.filter(account=account).values_list("external_id", "status", "quantity",
                                                                            "pnl")),
        "flows": sorted(CashFlow.objects.filter(account=account).values_list("external_id", "amount")),
    }


def test_new_trades_and_changed_ones_are_booked_at_the_next_sync_and_nothing_twice(account, source, tmp_path):
    first = sync_source(source_id=source.pk)
    assert (first.status, first.counts) == ("done", {"created": 15, "duplicate": 0, "updated": 3})
    # At t0 trades 1, 3, 4 are closed; 2, 5, 6 open: booked by their fills only.
    assert sorted(Trade.objects.filter(account=account).values_list("external_id", flat=True)) == [
        "ft-1", "ft-3", "ft-4"]
    assert Fill.objects.filter(account=account, trade_id="ft-2").count() == 3

    copy_to(T1, tmp_path / "tradesv3.sqlite")  # the bot writes on
    second = sync_source(source_id=source.pk)
    assert (second.status, second.counts) == ("done", {"created": 11, "duplicate": 0, "updated": 3})

    # The same books as importing the later database in one go.
    other = make_account("once", base_currency="USDT")
    call_command("import_freqtrade", str(tmp_path / "tradesv3.sqlite"), "--account", "once", stdout=None)
    assert booked(account) == booked(other)
    trades = {t.external_id: t for t in Trade.objects.filter(account=account)}
    assert trades["ft-2"].quantity == Decimal("0.02") and trades["ft-2"].pnl == Decimal("-2.6135")
    assert trades["ft-6"].reported_pnl == figure(expected("t1")["trades"]["6"]["close_profit_abs"])


def test_a_sync_with_nothing_new_books_and_journals_nothing(account, source):
    sync_source(source_id=source.pk)
    events = Event.objects.filter(account=account).count()
    again = sync_source(source_id=source.pk)
    assert again.counts == {"created": 0, "duplicate": 0, "updated": 0}
    assert again.rows == 4  # the open trades (2, 5, 6) and one updated within the look-back, read again
    assert Event.objects.filter(account=account).count() == events


def test_a_full_re_read_books_nothing_twice(account, source):
    sync_source(source_id=source.pk)
    before = booked(account)
    full = sync_source(source_id=source.pk, full=True)
    assert full.counts == {"created": 0, "duplicate": 18, "updated": 0}
    assert booked(account) == before


class Killed(BaseException):
    """A worker killed mid-sync: no handler of ours sees it."""


def test_a_sync_killed_mid_way_keeps_what_it_committed_and_the_next_one_books_the_rest_once(
        account, source, tmp_path, monkeypatch):
    copy_to(T1, tmp_path / "tradesv3.sqlite")
    monkeypatch.setattr(reader, "CHUNK", 3)  # trades 1-3, 4-6, 7-8: three batches
    calls = {"n": 0}
    real = record

    def dying(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise Killed()
        return real(**kwargs)

    monkeypatch.setattr("trades.sources.sync.record", dying)
    with pytest.raises(Killed):
        sync_source(source_id=source.pk)
    source.refresh_from_db()
    assert source.cursor["trade_id"] == 3  # the first batch and its cursor, committed together
    assert sorted(Trade.objects.filter(account=account).values_list("external_id", flat=True)) == [
        "ft-1", "ft-2", "ft-3"]
    monkeypatch.setattr("trades.sources.sync.record", real)
    result = sync_source(source_id=source.pk)
    assert result.status == "done"
    other = make_account("once", base_currency="USDT")
    call_command("import_freqtrade", str(tmp_path / "tradesv3.sqlite"), "--account", "once", stdout=None)
    assert booked(account) == booked(other)


def test_a_trade_refused_is_left_out_named_and_tried_again(account, source):
    # A trade opened earlier through the API under the key of freqtrade's trade 1, with another quantity.
    record(accounts=[account], default_account=account, channel="api", item_type="trade.open", items=[
        {"id": "ft-1", "symbol": "BTC/USDT", "side": "long", "quantity": "1", "entry_price": "42000.5",
         "entry_time": "2025-03-01T10:00:00Z"}])
    result = sync_source(source_id=source.pk)
    assert result.status == "done" and len(result.refused) == 1
    assert result.refused[0].startswith("trade 1: trade.open 'ft-1': quantity: ")
    source.refresh_from_db()
    assert source.last_error == result.refused[0] and source.error_count == 0
    assert list(source.cursor["rejected"]) == ["1"]
    assert Trade.objects.get(account=account, external_id="ft-1").quantity == 1  # unchanged, still open
    assert not Fill.objects.filter(account=account, trade_id="ft-1").exists()
    assert Trade.objects.filter(account=account, external_id="ft-3").exists()  # the others are booked
    again = sync_source(source_id=source.pk)
    assert len(again.refused) == 1  # read again, refused again: still named


def test_an_unreadable_store_is_kept_on_the_source_and_counted(account, tmp_path):
    gone = Source.objects.create(account=account, name="gone", kind="freqtrade",
                                 location=f"sqlite:///{tmp_path / 'nope.sqlite'}")
    result = sync_source(source_id=gone.pk)
    assert (result.status, result.error) == ("failed", f"{tmp_path / 'nope.sqlite'}: no such file")
    sync_source(source_id=gone.pk)
    gone.refresh_from_db()
    assert (gone.last_error, gone.error_count, gone.last_success_at) == (result.error, 2, None)


def test_a_store_that_is_not_freqtrades_is_said_so(account, tmp_path):
    import sqlite3

    path = tmp_path / "other.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE x (a)").connection.close()
    other = Source.objects.create(account=account, name="other", kind="freqtrade", location=f"sqlite:///{path}")
    result = sync_source(source_id=other.pk)
    assert result.error == f"sqlite:///{path}: not a freqtrade database (no 'trades' table)"


def test_lag_is_how_far_the_books_are_behind_the_store(account, source, monkeypatch):
    monkeypatch.setattr(reader, "CHUNK", 3)
    monkeypatch.setattr("trades.sources.sync.record", _record_first_batch_only())
    with pytest.raises(Killed):
        sync_source(source_id=source.pk)
    monkeypatch.undo()
    result = sync_source(source_id=source.pk)
    source.refresh_from_db()
    assert source.lag == result.lag and result.lag.total_seconds() == 0


def _record_first_batch_only():
    calls = {"n": 0}

    def dying(**kwargs):
        calls["n"] += 1
        if calls["n"] > 1:
            raise Killed()
        return record(**kwargs)
    return dying


def test_the_sync_source_command_says_what_it_did(source, capsys):
    call_command("sync_source", "bot")
    assert capsys.readouterr().out == "bot: 6 rows read; 15 created, 0 duplicate, 3 updated; lag 0s.\n"
    with pytest.raises(CommandError) as caught:
        call_command("sync_source", "nope")
    assert str(caught.value) == "No source 'nope' (list_sources shows them)."
