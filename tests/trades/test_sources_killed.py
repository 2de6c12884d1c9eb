"""A worker killed (SIGKILL) in the middle of a sync: what it committed stays with its cursor, the
batch it was writing is not booked at all, and the next sync books the rest — each item once."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.factories import make_account
from tests.snapshots.test_worker import database_url
from tests.trades.freqtrade_data import many_trades
from trades.models import Event, Fill, Source, Trade
from trades.sources.freqtrade import CHUNK
from trades.sources.sync import sync_source

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
TRADES = 5 * CHUNK // 2  # three batches: CHUNK, CHUNK, CHUNK / 2


def test_a_sync_killed_with_sigkill_resumes_from_its_cursor_and_books_nothing_twice(tmp_path):
    account = make_account("ft", base_currency="USDT")
    path = many_trades(tmp_path / "tradesv3.sqlite", TRADES)
    source = Source.objects.create(account=account, name="bot", kind="freqtrade", location=f"sqlite:///{path}")
    env = {**os.environ, "DATABASE_URL": database_url(), "SECRET_KEY": "kill-test", "LOG_LEVEL": "WARNING",
           "TRADEBOOK_DATA_DIR": str(tmp_path)}
    sync = subprocess.Popen([sys.executable, "manage.py", "sync_source", "bot"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and sync.poll() is None:
            source.refresh_from_db()
            if source.cursor.get("trade_id"):  # the first batch is committed; the second is being written
                break
            time.sleep(0.02)
        sync.send_signal(signal.SIGKILL)
        sync.wait(30)
    finally:
        if sync.poll() is None:
            sync.kill()
    source.refresh_from_db()
    done = source.cursor["trade_id"]
    assert done in (CHUNK, 2 * CHUNK)  # whole batches only, each with its cursor
    assert Fill.objects.filter(account=account).count() == 2 * done
    assert Trade.objects.filter(account=account).count() == done

    result = sync_source(source_id=source.pk)
    assert result.status == "done"
    assert result.counts == {"created": 3 * (TRADES - done), "duplicate": 0, "updated": TRADES - done}
    assert Fill.objects.filter(account=account).count() == 2 * TRADES
    assert Trade.objects.filter(account=account, status="closed").count() == TRADES
    assert Event.objects.filter(account=account).count() == 4 * TRADES  # every item journaled once
