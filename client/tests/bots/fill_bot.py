"""A small bot for the crash tests: posts fills FILL-<start>..FILL-<count-1> through a spooled
client and prints each index once its call returned (the fill is then in the spool), with the count
of items in the spool not yet acknowledged.

    python fill_bot.py URL TOKEN SPOOL COUNT [START]

With START it continues a run that was killed: it first reopens the spool (the client sends
what was left there), then posts from START on.
"""

from __future__ import annotations

import sys
import time

from tradebook_client import Client

T0 = 1_765_000_000


def main() -> None:
    url, token, spool, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    start = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    with Client(url, token, spool=spool, batch_size=200, flush_interval=0.5) as client:
        print(f"pending {client.pending()}", flush=True)
        for i in range(start, count):
            client.fill(id=f"FILL-{i}", symbol="BTCUSDT", side="buy" if i % 2 else "sell", price=f"{100 + i % 7}.5",
                        quantity="0.001", executed_at=T0 + i / 1000)
            print(i, client.pending(), flush=True)
            if i % 50 == 49:
                time.sleep(0.01)  # a bot's pace: the run lasts long enough to be killed in the middle
    print("done", flush=True)


if __name__ == "__main__":
    main()
