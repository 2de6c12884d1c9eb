"""freqtrade on PostgreSQL (freqtrade's `db_url = postgresql://…`): imported and followed the same
as its SQLite file, read in read-only transactions. Each test creates and drops its own database."""

from io import StringIO

import psycopg
import pytest
from django.core.management import call_command

from tests.factories import make_account
from tests.trades.freqtrade_data import T0, T1, bot_file
from tests.trades.pg_stores import copy_sqlite_tables, needs_postgres, pg_database
from tests.trades.test_sources_freqtrade import booked
from trades.models import Source
from trades.sources.db import StoreDatabase, StoreError
from trades.sources.sync import sync_source

pytestmark = [pytest.mark.django_db, needs_postgres]


def test_a_postgresql_freqtrade_database_books_as_its_sqlite_file_does(tmp_path):
    pg, lite = make_account("pg", base_currency="USDT"), make_account("lite", base_currency="USDT")
    with pg_database("sources_ft") as url:
        copy_sqlite_tables(T1, url)
        out = StringIO()
        call_command("import_freqtrade", "--db-url", url, "--account", "pg", stdout=out, stderr=StringIO())
        assert out.getvalue().endswith("8 trades, 32 items into pg: 26 created, 0 duplicate, 6 updated.\n")
    call_command("import_freqtrade", str(bot_file(tmp_path)), "--account", "lite", stdout=StringIO(),
                 stderr=StringIO())
    assert booked(pg) == booked(lite)


def test_a_postgresql_source_is_followed_as_the_bot_writes(tmp_path):
    account = make_account("pg", base_currency="USDT")
    with pg_database("sources_ft") as url:
        copy_sqlite_tables(T0, url)
        source = Source.objects.create(account=account, name="pg", kind="freqtrade", location=url)
        assert sync_source(source_id=source.pk).counts["created"] == 15
        copy_sqlite_tables(T1, url, create=False)  # the bot writes on
        second = sync_source(source_id=source.pk)
        assert second.counts == {"created": 11, "duplicate": 0, "updated": 3}
    once = make_account("once", base_currency="USDT")
    call_command("import_freqtrade", str(bot_file(tmp_path)), "--account", "once", stdout=StringIO(),
                 stderr=StringIO())
    assert booked(account) == booked(once)


def test_the_bots_database_is_read_in_read_only_transactions():
    with pg_database("sources_ro") as url:
        copy_sqlite_tables(T1, url)
        with StoreDatabase(url) as db, db.read() as r:
            assert r.value('SELECT COUNT(*) FROM "trades"') == 8
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                db._conn.execute('DELETE FROM "trades"')


def test_a_password_is_never_shown(tmp_path):
    with pytest.raises(StoreError) as caught:
        StoreDatabase("postgresql://bot:s3cret@127.0.0.1:1/nowhere").open()
    assert "s3cret" not in str(caught.value) and "bot:***@127.0.0.1:1" in str(caught.value)


def test_a_postgresql_hummingbot_database_is_followed():
    from tests.trades.hummingbot_db import Recorder

    account = make_account("hb", base_currency="USDT")
    with pg_database("sources_hb") as url:
        bot = Recorder(url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            bot.create("buy-1", "buy", at=1735689600000)
            bot.fill("buy-1", "T1", "buy", at=1735689601000)
            bot.status("buy-1", "BuyOrderCompleted", at=1735689601500)
            source = Source.objects.create(account=account, name="hb", kind="hummingbot", location=url)
            first = sync_source(source_id=source.pk)
            assert (first.status, first.counts) == ("done", {"created": 2, "duplicate": 0, "updated": 0})
            bot.create("sell-1", "sell", at=1735689700000)
            assert sync_source(source_id=source.pk).counts == {"created": 1, "duplicate": 0, "updated": 0}
        finally:
            bot.close()
