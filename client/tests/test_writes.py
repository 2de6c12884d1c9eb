"""Writes against a real tradebook: batching, exact numbers, order, refusals kept aside,
retries that write nothing twice."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from conftest import total
from faulty_proxy import LOSE_ANSWER, RESET, busy

from tradebook_client import Client

pytestmark = pytest.mark.timeout(120)

T0 = 1_765_000_000  # epoch seconds, 2025-12-06


def fill(i, **extra):
    return {"id": f"F-{i}", "symbol": "BTCUSDT", "side": "buy", "price": "100", "quantity": "1",
            "executed_at": T0 + i, **extra}


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_a_full_batch_goes_out_without_waiting_for_the_interval(account, proxy):
    with Client(proxy.url, account.token, batch_size=100, flush_interval=3600) as client:
        for i in range(250):
            client.fill(**fill(i))
        assert wait_until(lambda: client.pending() == 50)  # two full batches sent by the background thread
        result = client.flush()
        assert (result.sent, result.created, len(result.answers)) == (50, 50, 1)
    sizes = [len(json.loads(body)) for body in proxy.bodies]
    assert sizes == [100, 100, 50]
    assert len(account.fills()) == 250


def test_queued_items_go_out_after_flush_interval(account):
    with Client(account.url, account.token, flush_interval=0.2) as client:
        client.fill(**fill(1))
        client.mark(symbol="BTCUSDT", price="101", ts=T0 + 5)
        assert wait_until(lambda: client.pending() == 0, timeout=5)
    assert [f["id"] for f in account.fills()] == ["F-1"]


def test_amounts_and_times_are_stored_exactly(account):
    values = [
        (Decimal("12345678.901234567"), Decimal("0.12345678901234567")),  # 17 significant digits
        (0.1, 0.3),  # floats not exact in binary
        (0.1 + 0.2, 1e-8),
        (2000.1, 123.456),
        ("42000.50", "0.00100"),
    ]
    times = [T0 + 0.123456, (T0 + 1) * 1000 + 789, datetime(2025, 12, 6, 5, 46, 42, 5), "2025-12-06T06:46:43.5+01:00",
             datetime(2025, 12, 6, 5, 46, 44, tzinfo=timezone.utc)]
    with Client(account.url, account.token) as client:
        for i, ((price, quantity), at) in enumerate(zip(values, times)):
            client.fill(id=f"X-{i}", symbol="ETHUSDT", side="sell", price=price, quantity=quantity, executed_at=at,
                        fee=Decimal("0.000000000000000001"), fee_currency="USDT")
    stored = {f["id"]: f for f in account.fills(symbol="ETHUSDT")}
    expected = [("12345678.901234567", "0.12345678901234567"), ("0.1", "0.3"), ("0.30000000000000004", "0.00000001"),
                ("2000.1", "123.456"), ("42000.5", "0.001")]
    assert [(stored[f"X-{i}"]["price"], stored[f"X-{i}"]["quantity"]) for i in range(5)] == expected
    assert {f["fee"] for f in stored.values()} == {"0.000000000000000001"}
    assert [stored[f"X-{i}"]["executed_at"] for i in range(5)] == [
        "2025-12-06T05:46:40.123456Z", "2025-12-06T05:46:41.789000Z", "2025-12-06T05:46:42.000005Z",
        "2025-12-06T05:46:43.500000Z", "2025-12-06T05:46:44Z"]


def test_a_trade_opened_updated_and_closed_in_one_batch_applies_in_order(account):
    with Client(account.url, account.token, flush_interval=3600) as client:
        client.open_trade(id="TR-1", symbol="BTCUSDT", side="long", quantity="0.5", entry_price="100", entry_time=T0)
        client.update_trade("TR-1", sl_price="95", metadata={"why": "tighter"})
        client.close_trade("TR-1", exit_price="110", exit_time=T0 + 60, close_reason="tp", exit_fee="0.1")
        result = client.flush()
        assert len(result.answers) == 1 and [r["status"] for r in result.answers[0].results] == [
            "created", "updated", "updated"]
        trade = client.trade("TR-1")
    assert (trade.status, trade.sl_price, trade.exit_price, trade.pnl) == ("closed", Decimal("95"), Decimal("110"),
                                                                           Decimal("4.9"))
    assert trade.metadata == {"why": "tighter"}


def test_a_conflicting_fill_is_kept_aside_not_retried_and_the_rest_is_sent(account, spool):
    with Client(account.url, account.token, spool=spool) as client:
        client.fill(**fill(1, price="100"))
        assert client.flush().created == 1
        client.fill(**fill(2))
        client.fill(**fill(1, price="100.5"))  # the same fill id with another price: a 409
        client.fill(**fill(3))
        result = client.flush()
        assert (result.created, len(result.rejected)) == (2, 1)
        [rejected] = client.rejected()
        assert (rejected.status, rejected.type, rejected.item["id"], rejected.item["price"]) == (409, "fill", "F-1",
                                                                                                "100.5")
        assert rejected.errors[0]["field"] == "price"
        assert client.flush().answers == []  # not sent again
    stored = {f["id"]: f["price"] for f in account.fills()}
    assert stored == {"F-1": "100", "F-2": "100", "F-3": "100"}  # the stored row is unchanged
    with Client(account.url, account.token, spool=spool) as again:  # kept in the spool for later
        assert [r.item["id"] for r in again.rejected()] == ["F-1"]
        assert again.pending() == 0


def test_invalid_items_and_unknown_accounts_are_kept_aside(account, spool):
    with Client(account.url, account.token, spool=spool) as client:
        client.fill(**fill(1))
        client.fill(**fill(2, quantity="-1"))  # tradebook refuses it (400): the client checks less
        client.fill(**fill(3, account="no-such-account"))  # 404: outside the token's scope
        client.fill(**fill(4))
        result = client.flush()
    assert sorted((r.item["id"], r.status) for r in result.rejected) == [("F-2", 400), ("F-3", 404)]
    assert sorted(f["id"] for f in account.fills()) == ["F-1", "F-4"]


def test_a_lost_answer_is_retried_and_written_once(account, proxy, spool):
    proxy.script = [LOSE_ANSWER, RESET, LOSE_ANSWER]
    with Client(proxy.url, account.token, spool=spool, backoff=0.05) as client:
        for i in range(20):
            client.fill(**fill(i))
        client.signal(symbol="BTCUSDT", value=1, generated_at=T0, strength=0.5)  # no id: the client gives one
        result = client.flush()
    assert len(proxy.bodies) == 4 and len(set(proxy.bodies)) == 1  # the same request each time
    assert result.duplicate == 21  # written by the first try, whose answer was lost
    assert len(account.fills()) == 20
    signals = account.server.get("/api/v1/signals/", account.token)["results"]
    assert len(signals) == 1 and signals[0]["id"].startswith("c-")


def test_a_log_line_retried_is_created_once(account, proxy):
    proxy.script = [LOSE_ANSWER]
    with Client(proxy.url, account.token, backoff=0.05) as client:
        client.log("restarted", level="warning")
    assert len(proxy.bodies) == 2
    # The journal keeps what was posted, the resend included, as a duplicate of the first.
    assert sorted(e["outcome"] for e in account.events(type="log")) == ["created", "duplicate"]


def test_busy_answers_are_retried_after_retry_after(account, proxy):
    proxy.script = [busy(429, "1"), busy(503, "1"), busy(502, None)]
    with Client(proxy.url, account.token, backoff=0.05) as client:
        client.fill(**fill(1))
        started = time.monotonic()
        result = client.flush()
        elapsed = time.monotonic() - started
    assert result.created == 1
    times = [at for at, method, _path, _action in proxy.seen if method == "POST"]
    assert len(times) == 4
    assert times[1] - times[0] >= 0.95 and times[2] - times[1] >= 0.95  # Retry-After: 1
    assert elapsed < 10


def test_flush_gives_up_after_max_retries_and_keeps_the_items(account, proxy, spool):
    proxy.script = [busy(503, "0")] * 3
    client = Client(proxy.url, account.token, spool=spool, max_retries=2, backoff=0.01, flush_interval=3600)
    client.fill(**fill(1))
    from tradebook_client import Unavailable

    with pytest.raises(Unavailable):
        client.flush()
    assert client.pending() == 1
    assert client.close().created == 1  # the proxy passes requests again
    assert len(account.fills()) == 1


def test_typos_come_back_as_warnings_and_are_logged(account, caplog):
    with Client(account.url, account.token) as client:
        client.fill(**fill(1, feee="0.1"))
        client.log("started")  # its client-made id is not the bot's typo: not logged as one
        result = client.flush()
    assert result.created == 2
    assert [(w["index"], w["field"]) for w in result.warnings if w["field"] != "id"] == [(0, "feee")]
    assert "fee" in result.warnings[0]["message"]  # the field one typo away
    assert account.fills()[0]["meta"] == {"feee": "0.1"}  # kept in meta, not booked
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 1 and "feee" in warned[0]


def test_items_name_the_account_when_given(running, spool):
    slugs = list(running.accounts([f"acct-{i}-{time.monotonic_ns()}" for i in (1, 2)]))
    token = running.token(*slugs, name="two-" + slugs[0])
    with Client(running.url, token, account=slugs[1], spool=spool) as client:
        client.fill(**fill(1))
        assert client.flush().created == 1
        assert client.account_slug() == slugs[1]
    rows = running.get("/api/v1/fills/", token)["results"]
    assert [(r["account"], r["id"]) for r in rows] == [(slugs[1], "F-1")]


def test_the_total_of_many_fills_is_exact(account):
    quantities = [0.1] * 1000 + [Decimal("0.000000000000000001")] * 3
    with Client(account.url, account.token) as client:
        client.fills(fill(i, quantity=q) for i, q in enumerate(quantities))
    assert total(account.fills(), "quantity") == Decimal("100.000000000000000003")


def test_a_batch_over_the_servers_item_limit_is_split(account, proxy):
    with Client(proxy.url, account.token, batch_size=12_000, flush_interval=3600) as client:
        client.fills(fill(i) for i in range(12_000))  # tradebook takes 10,000 items a request at most (413)
        result = client.flush()
    assert (result.created, result.rejected) == (12_000, [])
    sizes = [len(json.loads(body)) for body in proxy.bodies]
    assert sizes == [12_000, 6_000, 6_000]
    assert len(account.fills()) == 12_000


def test_a_lost_answer_to_a_trades_whole_life_is_retried_without_refusals(account, proxy):
    proxy.script = [LOSE_ANSWER]
    with Client(proxy.url, account.token, backoff=0.05, flush_interval=3600) as client:
        client.open_trade(id="TR-2", symbol="BTCUSDT", side="long", quantity="1", entry_price="100", entry_time=T0)
        client.update_trade("TR-2", sl_price="95")
        client.close_trade("TR-2", exit_price="110", exit_time=T0 + 60)
        result = client.flush()
        assert client.trade("TR-2").status == "closed"
    assert result.rejected == []
