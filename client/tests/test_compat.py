"""The drop-in stores: the older event and trade stores' calls, booked in tradebook."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Dict, Optional

import pytest

from tradebook_client import Client
from tradebook_client.compat import EventStore, TradeStore

pytestmark = pytest.mark.timeout(120)

BOT = "paper:BTCUSD-ETHUSD"
T0 = 1_765_000_000


def test_event_store_lines_are_booked_and_read_back_newest_first(account):
    with Client(account.url, account.token) as client:
        events = EventStore(client, BOT)
        events.append_trade("BTCUSDT", "BUY", 42000.5, 0.25, commission=5.25, pnl=None, timestamp=T0)
        events.append_trade({"symbol": "BTCUSDT", "side": "SELL", "price": "42500", "quantity": "0.25",
                             "commission": "5.3125", "pnl": "114.5625", "timestamp": T0 + 60})
        events.append_metric(equity=10109.25, cash=10109.25, positions_value=0, positions_count=0, total_trades=2,
                             initial_capital=10000, returns_pct=1.0925, timestamp=T0 + 61)
        events.append_position("ETHUSDT", -1.5, entry_price=2000, current_price=1990, unrealized_pnl=15,
                               timestamp=T0 + 62)
        # The same line again (a bot replaying its file) is the same fill, not a second one.
        events.append_trade("BTCUSDT", "BUY", 42000.5, 0.25, commission=5.25, timestamp=T0)

        newest = events.get_events(limit=3)
        trades = events.get_events(types=["trade"])
        metrics_and_positions = events.get_events(limit=10, types=("metric", "position"))

    assert [e["type"] for e in newest] == ["trade", "position", "metric"]
    assert all(e["bot_id"] == BOT for e in newest)
    assert [(t["side"], t["price"], t["commission"]) for t in trades] == [
        ("BUY", "42000.5", "5.25"), ("SELL", "42500", "5.3125"), ("BUY", "42000.5", "5.25")]
    assert trades[1]["pnl"] == "114.5625" and trades[1]["timestamp"] == "2025-12-06T05:47:40Z"
    assert [e["type"] for e in metrics_and_positions] == ["position", "metric"]
    assert metrics_and_positions[0]["quantity"] == "-1.5"

    fills = account.fills()
    assert sorted((f["side"], f["price"], f["quantity"]) for f in fills) == [("buy", "42000.5", "0.25"),
                                                                           ("sell", "42500", "0.25")]
    assert {f["bot"] for f in fills} == {BOT}
    equity = account.server.get("/api/v1/equity/", account.token)["results"]
    assert [(e["equity"], e["total_trades"]) for e in equity] == [("10109.25", "2")]
    positions = account.server.get("/api/v1/positions/", account.token)["results"]
    assert [(p["symbol"], p["side"], p["size"], p["mark_price"]) for p in positions] == [
        ("ETHUSDT", "short", "1.5", "1990")]


def test_event_store_trade_commission_is_the_fee_and_pnl_the_reported_pnl(account):
    with Client(account.url, account.token) as client:
        EventStore(client, BOT).append_trade("BTCUSDT", "sell", "42500", "0.25", commission="5.3125",
                                             pnl="114.5625", timestamp=T0)
    [fill] = account.fills()
    assert (fill["fee"], fill["reported_pnl"]) == ("5.3125", "114.5625")


def test_get_events_maps_newer_items_to_the_older_names(account):
    with Client(account.url, account.token, bot=BOT) as client:
        client.fill(id="N-1", symbol="BTCUSDT", side="buy", price="1", quantity="2", executed_at=T0)
        client.equity(equity="10000", exchange_ts=T0 + 1)
        client.signal(symbol="BTCUSDT", value=1, generated_at=T0 + 2)
        events = EventStore(client, BOT)
        assert [e["type"] for e in events.get_events()] == ["signal", "metric", "trade"]
        [trade] = events.get_events(types="trade")
        assert (trade["id"], trade["bot_id"], trade["timestamp"]) == ("N-1", BOT, "2025-12-06T05:46:40Z")
        assert events.get_events(types=["fill"]) == [trade]  # the journal's own names work too
        assert EventStore(client, "paper:other").get_events() == []  # this store's bot only


@dataclass
class OldTrade:
    """A trade object as the older bots keep them."""

    trade_id: str
    symbol: str
    side: str
    quantity: float
    entry_price: float
    entry_time: datetime
    stop_loss: Optional[float] = None
    take_profit: Optional[float] = None
    leverage: float = 1.0
    strategy: str = "breakout"
    model: str = "xgb-v3"
    confidence: float = 0.72
    atr: float = 12.5  # no tradebook field: goes into metadata
    metadata: Dict[str, Any] = field(default_factory=dict)
    status: str = "open"


def test_trade_store_saves_recovers_and_closes_trades(account, spool):
    opened = datetime(2025, 12, 6, 8, 0, tzinfo=timezone.utc)
    with Client(account.url, account.token, spool=spool) as client:
        store = TradeStore(client)
        assert store.save_new_trade(OldTrade("OT-1", "BTCUSDT", "LONG", 0.5, 42000.5, opened, stop_loss=41000,
                                             take_profit=44000, metadata={"signal": "s-9"})) == "OT-1"
        store.save_new_trade({"id": "OT-2", "symbol": "ETHUSDT", "side": "sell", "qty": "2", "entry_price": "2000",
                              "entry_time": T0, "sl_price": "2100"})
        store.save_new_trade({"id": "OT-2", "symbol": "ETHUSDT", "side": "sell", "qty": "2", "entry_price": "2000",
                              "entry_time": T0, "sl_price": "2100"})  # saved twice: one trade
    with Client(account.url, account.token, spool=spool) as restarted:  # the bot after a restart
        store = TradeStore(restarted)
        trades = {t.id: t for t in store.get_open_trades()}
        assert set(trades) == {"OT-1", "OT-2"}
        one = trades["OT-1"]
        assert (one.side, one.quantity, one.entry_price, one.sl_price, one.tp_price, one.leverage) == (
            "long", Decimal("0.5"), Decimal("42000.5"), Decimal("41000"), Decimal("44000"), Decimal("1"))
        assert (one.strategy, one.model, one.confidence, one.entry_time) == ("breakout", "xgb-v3", Decimal("0.72"),
                                                                             opened)
        assert one.metadata is not None and one.metadata["signal"] == "s-9"
        assert Decimal(str(one.metadata["atr"])) == Decimal("12.5")  # a field tradebook has no column for
        assert trades["OT-2"].side == "short" and trades["OT-2"]["stop_loss"] == Decimal("2100")
        assert [t.id for t in store.get_open_trades(symbol="ETHUSDT")] == ["OT-2"]

        store.mark_trade_closed("OT-1", 43000, datetime(2025, 12, 6, 9, 0), "take_profit", exit_fee_usd=4.3,
                                realized_pnl_usd=495.7)
        assert [t.id for t in store.get_open_trades()] == ["OT-2"]
        closed = restarted.trade("OT-1")
    assert (closed.status, closed.exit_price, closed.exit_fee, closed.reported_pnl, closed.close_reason) == (
        "closed", Decimal("43000"), Decimal("4.3"), Decimal("495.7"), "take_profit")
    assert closed.pnl == Decimal("495.45")  # (43000 - 42000.5) * 0.5 - 4.3, computed by tradebook
    assert closed.exit_time == datetime(2025, 12, 6, 9, 0, tzinfo=timezone.utc)
