"""The spool keeps items on disk, in order, until they are acknowledged (no server needed)."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from tradebook_client import Client, SpoolLocked, Unavailable
from tradebook_client._queue import Spool

pytestmark = pytest.mark.timeout(60)


def bodies(n, start=0):
    return [("fill", f'{{"type":"fill","id":"{i}"}}') for i in range(start, start + n)]


def test_items_stay_in_order_until_removed_and_survive_a_reopen(spool):
    queue = Spool(spool)
    queue.put(bodies(3))
    queue.put(bodies(2, start=3))
    head = queue.head(4)
    assert [e.body for e in head] == [b for _t, b in bodies(4)]
    queue.remove(head[:2])
    queue.close()
    queue = Spool(spool)  # as after a crash: what was not removed is there, in order
    assert len(queue) == 3
    assert [e.body for e in queue.head(10)] == [b for _t, b in bodies(3, start=2)]
    queue.close()


def test_refused_items_move_aside_with_their_errors_and_can_be_requeued(spool):
    queue = Spool(spool)
    queue.put(bodies(3))
    head = queue.head(3)
    [rejected] = queue.set_aside([(head[1], 409, [{"index": 1, "field": "price", "message": "differs"}])])
    assert rejected.item == {"type": "fill", "id": "1"} and rejected.status == 409
    queue.remove([head[0], head[2]])
    assert len(queue) == 0
    queue.close()
    queue = Spool(spool)
    assert [(r.item["id"], r.errors[0]["field"]) for r in queue.rejected()] == [("1", "price")]
    assert queue.requeue() == 1
    assert [e.body for e in queue.head(5)] == ['{"type":"fill","id":"1"}'] and queue.rejected() == []
    queue.close()


def test_the_spool_file_is_wal_and_synchronous_full(spool):
    queue = Spool(spool)
    assert queue._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert queue._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    queue.close()


def test_concurrent_calls_share_commits_and_lose_nothing(spool):
    queue = Spool(spool)
    threads = [threading.Thread(target=lambda k=k: [queue.put(bodies(1, start=k * 1000 + i)) for i in range(200)])
               for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(queue) == 800
    queue.close()
    with sqlite3.connect(spool) as db:
        assert db.execute("SELECT count(*), count(DISTINCT body) FROM pending").fetchone() == (800, 800)


def test_one_spool_one_client(spool):
    first = Client("http://127.0.0.1:9", "tb_x", spool=spool, flush_interval=3600)
    with pytest.raises(SpoolLocked):
        Client("http://127.0.0.1:9", "tb_x", spool=spool)
    first.mark(symbol="X", price=1, ts=1.7e9)
    with pytest.raises(Unavailable):
        first.close(timeout=0)
    second = Client("http://127.0.0.1:9", "tb_x", spool=spool, flush_interval=3600)  # the lock went with it
    assert second.pending() == 1
    with pytest.raises(Unavailable):
        second.close(timeout=0)


def test_a_closed_client_queues_nothing_and_still_lists_what_it_set_aside(spool):
    from tradebook_client import ClientClosed
    from tradebook_client._queue import Entry

    client = Client("http://127.0.0.1:9", "tb_x", spool=spool, flush_interval=3600)
    client.mark(symbol="X", price=1, ts=1.7e9)
    [entry] = client._queue.head(1)
    client._queue.set_aside([(Entry(entry.seq, entry.type, entry.body), 400, [{"index": 0, "field": "price",
                                                                                "message": "bad"}])])
    assert client.close().pending == 0
    with pytest.raises(ClientClosed):
        client.fill(id="1", symbol="X", side="buy", price=1, quantity=1, executed_at=1.7e9)
    with pytest.raises(ClientClosed):
        client.flush()
    assert [(r.type, r.status, r.item["symbol"]) for r in client.rejected()] == [("mark", 400, "X")]


def test_acknowledged_items_leave_at_once_and_the_file_with_the_next_transaction(spool):
    queue = Spool(spool)
    queue.put(bodies(4))
    queue.remove(queue.head(3))
    assert len(queue) == 1 and [e.body for e in queue.head(10)] == [bodies(4)[3][1]]
    with sqlite3.connect(spool) as db:  # what a crash now would leave: sent again, answered as duplicates
        assert db.execute("SELECT count(*) FROM pending").fetchone()[0] == 4
    queue.put(bodies(1, start=4))  # the next transaction carries the delete
    with sqlite3.connect(spool) as db:
        assert db.execute("SELECT count(*) FROM pending").fetchone()[0] == 2
    queue.remove(queue.head(10))
    queue.settle()
    with sqlite3.connect(spool) as db:
        assert db.execute("SELECT count(*) FROM pending").fetchone()[0] == 0
    queue.close()
