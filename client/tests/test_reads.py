"""Reading back: open trades after a restart (every page), positions, the summary, the account."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from tradebook_client import ApiError, AsyncClient, Client, Position, Summary, Trade, TradebookError

pytestmark = pytest.mark.timeout(120)

T0 = 1_765_000_000


def test_open_trades_after_a_restart_follow_every_page(account, spool):
    with Client(account.url, account.token, spool=spool) as client:
        client.enqueue({"type": "trade.open", "id": f"T-{i}", "symbol": "BTCUSDT" if i % 2 else "ETHUSDT",
                        "side": "long", "quantity": "0.1", "entry_price": f"{100 + i}", "entry_time": T0 + i,
                        "sl_price": "90.5", "metadata": {"n": i}} for i in range(1050))
        client.close_trade("T-7", exit_price="120", exit_time=T0 + 5000)
    # A restarted bot: a new client on the same spool, nothing queued, reads what is open.
    with Client(account.url, account.token, spool=spool) as restarted:
        trades = restarted.open_trades()
        btc = restarted.open_trades(symbol="BTCUSDT")
    assert len(trades) == 1049 and "T-7" not in {t.id for t in trades}  # more than one page (1,000 at most)
    assert len(btc) == 524 and {t.symbol for t in btc} == {"BTCUSDT"}
    assert [t.entry_time for t in trades] == sorted((t.entry_time for t in trades), reverse=True)
    newest = trades[0]
    assert isinstance(newest, Trade) and newest.id == "T-1049" and newest.status == "open"
    assert (newest.entry_price, newest.sl_price, newest.quantity) == (Decimal("1149"), Decimal("90.5"), Decimal("0.1"))
    assert newest.metadata == {"n": 1049} and newest.stop_loss == Decimal("90.5") and newest["side"] == "long"
    assert newest.entry_time is not None and newest.entry_time.timestamp() == T0 + 1049


def test_reads_send_what_is_queued_first(account):
    with Client(account.url, account.token, flush_interval=3600) as client:
        client.open_trade(id="Q-1", symbol="BTCUSDT", side="short", quantity=1, entry_price=50, entry_time=T0)
        assert [t.id for t in client.open_trades()] == ["Q-1"]
        client.close_trade("Q-1", exit_price=40, exit_time=T0 + 60)
        assert client.open_trades() == []
        assert client.trade("Q-1").pnl == Decimal("10")


def test_positions_and_summary_in_decimals(account):
    with Client(account.url, account.token) as client:
        client.fill(id="P-1", symbol="BTCUSDT", side="buy", price="100", quantity="1", fee="0.1", fee_currency="USDT",
                    executed_at=T0)
        client.fill(id="P-2", symbol="BTCUSDT", side="sell", price="110", quantity="0.4", executed_at=T0 + 1)
        client.mark(symbol="BTCUSDT", price="120", ts=T0 + 2)
        [position] = client.positions()
        summary = client.summary()
    assert isinstance(position, Position)
    assert (position.symbol, position.quantity, position.average_price, position.realized_pnl) == (
        "BTCUSDT", Decimal("0.6"), Decimal("100"), Decimal("4"))
    assert (position.mark_price, position.mark_source, position.unrealized_pnl) == (Decimal("120"), "mark",
                                                                                    Decimal("12"))
    assert isinstance(summary, Summary) and summary.account == account.slug
    assert (summary.realized_pnl, summary.fees, summary.net_pnl, summary.unrealized_pnl) == (
        Decimal("4"), Decimal("0.1"), Decimal("3.9"), Decimal("12"))
    assert summary.equity == Decimal("10015.9") and summary.fills == 2
    assert summary.marks["BTCUSDT"]["price"] == Decimal("120")


def test_the_account_is_the_tokens_only_one_or_must_be_named(running):
    made = running.accounts([f"r-{i}-{running.port}" for i in (1, 2)])
    slugs = list(made)
    one = made[slugs[0]]  # a token of one account
    both = running.token(*slugs, name=f"both-{slugs[0]}")
    with Client(running.url, one) as client:
        assert client.account_slug() == slugs[0]
        assert client.summary().account == slugs[0]
    with Client(running.url, both) as client:
        with pytest.raises(TradebookError, match="2 accounts"):
            client.summary()
    with Client(running.url, both, account=slugs[1]) as client:
        assert client.positions() == []
        with pytest.raises(ApiError) as missing:
            client.trade("nope")
        assert missing.value.status == 404


def test_a_bad_token_is_an_error_on_reads(running):
    with Client(running.url, "tb_not-a-token") as client:
        with pytest.raises(ApiError) as refused:
            client.open_trades()
        assert refused.value.status == 401


def test_the_async_client(account, spool):
    async def bot() -> None:
        async with AsyncClient(account.url, account.token, spool=spool, flush_interval=0.1) as client:
            await asyncio.gather(*(client.fill(id=f"A-{i}", symbol="SOLUSDT", side="buy", price=0.1,
                                               quantity=1, executed_at=T0 + i) for i in range(300)))
            await client.open_trade(id="A-T", symbol="SOLUSDT", side="long", quantity=3, entry_price=0.1,
                                    entry_time=T0)
            result = await client.flush()
            assert result.pending == 0
            trades = await client.open_trades()
            assert [t.id for t in trades] == ["A-T"]
            [position] = await client.positions()
            assert position.quantity == Decimal("300")

    asyncio.run(bot())
    assert len(account.fills()) == 300
