"""The Celery side of sources: beat's round every SOURCE_INTERVAL sends one sync per enabled source."""

from datetime import timedelta

import pytest

from tests.factories import make_account
from tests.trades.freqtrade_data import T1, bot_file
from tradebook.celery import app, build_beat_schedule
from trades import tasks
from trades.ingest import bots
from trades.models import Fill, Source

pytestmark = pytest.mark.django_db


def test_beat_runs_the_round_every_source_interval(settings):
    settings.SOURCE_INTERVAL = 17

    class Sender:
        class conf:
            beat_schedule = None

    build_beat_schedule(Sender)
    entry = Sender.conf.beat_schedule["source-round"]
    assert entry["task"] == "trades.sync_sources"
    assert entry["schedule"].run_every == timedelta(seconds=17) and entry["options"] == {"expires": 17}


def test_the_round_syncs_every_enabled_source_and_one_that_fails_stops_no_other(
        tmp_path, django_capture_on_commit_callbacks, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    try:
        account = make_account("ft", base_currency="USDT")
        good = Source.objects.create(account=account, name="good", kind="freqtrade",
                                     location=f"sqlite:///{bot_file(tmp_path, T1)}")
        broken = Source.objects.create(account=account, name="broken", kind="freqtrade",
                                       location=f"sqlite:///{tmp_path / 'gone.sqlite'}")
        Source.objects.create(account=account, name="off", kind="jsonl", location=str(tmp_path / "x"),
                              enabled=False)
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.sync_sources() == 2
        good.refresh_from_db()
        broken.refresh_from_db()
        assert good.last_success_at is not None and good.last_error == ""
        assert broken.error_count == 1 and broken.last_error.endswith("gone.sqlite: no such file")
        assert Fill.objects.filter(account=account).count() == 17
        assert Source.objects.get(name="off").last_sync_at is None
    finally:
        app.conf.task_always_eager = False
        # The on-commit callbacks ran inside the test's transaction, which is rolled back: the bot
        # ids they remembered are gone with it.
        bots.forget_bots()
