"""A complete example bot: a toy moving-average strategy on a random-walk price, posting its
marks, signals, trades, fills and equity to tradebook through a spooled client.

    python manage.py issue_token --account demo-paper --name example-bot   # the token: last line
    TRADEBOOK_TOKEN=tb_... python client/examples/paper_bot.py [--url http://127.0.0.1:8000] [--steps 200]

Stop it (Ctrl-C, or even kill -9) and start it again: it resumes its open trade from
tradebook, and whatever it had queued but not yet sent is sent from its spool.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import time
import uuid
from collections import deque
from decimal import Decimal

from tradebook_client import Client

SYMBOL = "BTCUSDT"
BOT = "paper:example-ma"
QUANTITY = Decimal("0.01")
FEE_RATE = Decimal("0.0004")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=os.environ.get("TRADEBOOK_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("TRADEBOOK_TOKEN"))
    parser.add_argument("--spool", default="example-bot.sqlite")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--pace", type=float, default=0.05, help="seconds between price ticks")
    args = parser.parse_args()
    if not args.token:
        parser.error("give the token: --token or TRADEBOOK_TOKEN (manage.py issue_token prints it)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    with Client(args.url, args.token, spool=args.spool, bot=BOT) as tb:
        # On start, recover the open trade (if the bot was stopped while in a position).
        open_trades = tb.open_trades(symbol=SYMBOL)
        trade = open_trades[0] if open_trades else None
        if trade is not None:
            logging.info("resuming trade %s: %s %s @ %s", trade.id, trade.side, trade.quantity, trade.entry_price)
        tb.log("bot started", level="info", resumed=trade.id if trade else None)

        price = trade.entry_price if trade else Decimal("42000")
        window: deque = deque(maxlen=20)
        for _ in range(args.steps):
            now = time.time()
            price = (price * (1 + Decimal(random.gauss(0, 0.002)))).quantize(Decimal("0.1"))
            window.append(price)
            tb.mark(symbol=SYMBOL, price=price, ts=now)
            if len(window) < window.maxlen:
                time.sleep(args.pace)
                continue
            average = sum(window) / len(window)
            value = 1 if price > average * Decimal("1.001") else -1 if price < average * Decimal("0.999") else 0
            strength = (abs(price - average) / average).quantize(Decimal("0.000001"))
            tb.signal(symbol=SYMBOL, value=value, generated_at=now, strength=strength,
                      strategy="ma20", metadata={"ma": str(average.quantize(Decimal("0.01")))})

            if trade is None and value == 1:
                trade_id = "T-" + uuid.uuid4().hex[:12]
                fee = (price * QUANTITY * FEE_RATE).quantize(Decimal("0.00000001"))
                tb.fill(id=f"{trade_id}-in", symbol=SYMBOL, side="buy", price=price, quantity=QUANTITY, fee=fee,
                        fee_currency="USDT", trade_id=trade_id, executed_at=now)
                tb.open_trade(id=trade_id, symbol=SYMBOL, side="long", quantity=QUANTITY, entry_price=price,
                              entry_time=now, sl_price=price * Decimal("0.98"), tp_price=price * Decimal("1.03"),
                              strategy="ma20", confidence=0.6, entry_fee=fee)
                trade = tb.trade(trade_id)  # read back: reads send what is queued first
                logging.info("opened %s at %s", trade.id, price)
            elif trade is not None and value == -1:
                fee = (price * trade.quantity * FEE_RATE).quantize(Decimal("0.00000001"))
                pnl = (price - trade.entry_price) * trade.quantity - (trade.entry_fee or 0) - fee
                tb.fill(id=f"{trade.id}-out", symbol=SYMBOL, side="sell", price=price, quantity=trade.quantity,
                        fee=fee, fee_currency="USDT", trade_id=trade.id, executed_at=now, reported_pnl=pnl)
                tb.close_trade(trade.id, exit_price=price, exit_time=now, close_reason="signal", exit_fee=fee,
                               reported_pnl=pnl)
                logging.info("closed %s at %s: pnl %s", trade.id, price, pnl)
                trade = None
            time.sleep(args.pace)

        summary = tb.summary()
        tb.equity(equity=summary.equity, cash=summary.cash, positions_count=summary.open_positions,
                  exchange_ts=time.time())
        result = tb.flush()
        logging.info("equity %s, net PnL %s, %d fills booked; last flush: %d created, %d duplicate, %d rejected",
                     summary.equity, summary.net_pnl, summary.fills, result.created, result.duplicate,
                     len(result.rejected))
        for position in tb.positions():
            logging.info("position %s: %s @ %s (mark %s, %s)", position.symbol, position.quantity,
                         position.average_price, position.mark_price, position.mark_source)


if __name__ == "__main__":
    main()
