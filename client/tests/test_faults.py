"""Nothing lost, nothing twice: tradebook stopped and started again under a run of fills, and
a bot killed with kill -9 and started again on its spool."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import total

from tradebook_client import Client, Unavailable

HERE = Path(__file__).resolve().parent
T0 = 1_765_000_000


@pytest.mark.timeout(240)
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "kill-9"])
def test_tradebook_stopped_in_the_middle_of_10000_fills_from_4_threads(account, spool, how):
    server = account.server
    threads, per_thread = 4, 2500
    queued = [0] * threads

    def post(k: int, client: Client) -> None:
        for i in range(per_thread):
            n = k * per_thread + i
            client.fill(id=f"R-{n}", symbol="ETHUSDT", side="buy" if n % 3 else "sell",
                        price=f"{2000 + n % 11}.{n % 100:02d}", quantity="0.01", executed_at=T0 + n / 100)
            queued[k] += 1
            if i % 25 == 24:
                time.sleep(0.02)  # spread over a few seconds, so tradebook goes down in the middle

    client = Client(account.url, account.token, spool=spool, batch_size=250, flush_interval=0.2, backoff=0.1,
                    max_backoff=1.0)
    workers = [threading.Thread(target=post, args=(k, client), daemon=True) for k in range(threads)]
    try:
        for worker in workers:
            worker.start()
        while sum(queued) < 3000:
            time.sleep(0.01)
        server.stop(how)
        down_at = sum(queued)
        time.sleep(1.5)
        assert sum(queued) > down_at  # the bot went on queueing while tradebook was down
        server.start()
        for worker in workers:
            worker.join()
        result = client.close(timeout=120)
        assert result.pending == 0 and client.rejected() == []
    finally:
        try:  # after a failure, stop the client rather than leave it retrying through the next tests
            client.close(timeout=5)
        except Unavailable:
            pass

    fills = account.fills(symbol="ETHUSDT")
    assert len(fills) == 10_000
    assert len({f["id"] for f in fills}) == 10_000
    assert total(fills, "quantity") == Decimal("100")
    expected = sum((Decimal(f"{2000 + n % 11}.{n % 100:02d}") for n in range(10_000)), Decimal(0))
    assert total(fills, "price") == expected


def spooled(path: str) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM pending").fetchone()[0]


@pytest.mark.timeout(180)
def test_a_bot_killed_with_kill_9_sends_what_it_left_exactly_once(account, spool):
    count = 3000
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent / "src"), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, str(HERE / "bots" / "fill_bot.py"), account.url, account.token, spool, str(count)]
    bot = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    last = -1
    assert bot.stdout is not None
    for line in bot.stdout:
        words = line.split()
        if len(words) == 2 and words[0].isdigit():
            last, pending = int(words[0]), int(words[1])
            if last >= 1234 and pending >= 50:  # killed with fills in its spool, not yet acknowledged
                break
    bot.send_signal(signal.SIGKILL)
    bot.wait(10)
    left = spooled(spool)
    assert left > 0

    stored_before = len(account.fills(symbol="BTCUSDT"))
    assert stored_before < last + 1 <= stored_before + left  # whatever was not stored is in the spool

    # Started again on the same spool, it goes on after the last fill it saw queued.
    again = subprocess.run(command + [str(last + 1)], capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == f"pending {left}"
    assert spooled(spool) == 0

    fills = account.fills(symbol="BTCUSDT")
    assert sorted(int(f["id"].split("-")[1]) for f in fills) == list(range(count))  # each once, none missing
    assert total(fills, "quantity") == Decimal("3")
