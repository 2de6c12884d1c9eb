"""Two syncs of one source at the same time (PostgreSQL, real transactions): one books, the other
skips — the advisory lock is the database's, not a hope — and nothing is booked twice."""

import threading

import pytest
from django.db import connection

from tests.factories import make_account
from tests.trades.freqtrade_data import T1, bot_file
from trades.ingest import record
from trades.models import Event, Fill, Source, Trade
from trades.sources.sync import sync_source

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the advisory lock is PostgreSQL's"),
]


def test_a_second_sync_at_the_same_time_skips_and_nothing_is_booked_twice(tmp_path, monkeypatch):
    account = make_account("ft", base_currency="USDT")
    source = Source.objects.create(account=account, name="bot", kind="freqtrade",
                                   location=f"sqlite:///{bot_file(tmp_path, T1)}")
    inside, released = threading.Event(), threading.Event()

    def slow(**kwargs):
        inside.set()  # the first sync holds the lock and is booking
        assert released.wait(30)
        return record(**kwargs)

    monkeypatch.setattr("trades.sources.sync.record", slow)
    results = {}

    def first():
        try:
            results["first"] = sync_source(source_id=source.pk)
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(30)
    try:
        results["second"] = sync_source(source_id=source.pk)  # this thread: its own connection
    finally:
        released.set()
        thread.join(60)
    assert results["second"].status == "skipped"
    assert results["second"].error == "another sync of this source is running"
    assert results["first"].status == "done" and results["first"].counts["created"] == 26
    assert Fill.objects.filter(account=account).count() == 17
    assert Trade.objects.filter(account=account).count() == 6
    assert Event.objects.filter(account=account).count() == 32
    # Once the first is done, a sync runs again (the lock went with it) and finds nothing new.
    monkeypatch.setattr("trades.sources.sync.record", record)
    assert sync_source(source_id=source.pk).counts == {"created": 0, "duplicate": 0, "updated": 0}
