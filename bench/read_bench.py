"""Read benchmark: the books and the fills list over one account with a long history.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_read .venv/bin/python bench/read_bench.py
        [--fills 1000000] [--symbols 200] [--bots 5] [--days 365] [--runs 20] [--reload]

PostgreSQL only (the figures that matter are production's). The database is created
when missing and migrated; the account `bench` is loaded once with COPY — fills by five
bots sharing every symbol, each fill of a trade with a strategy, marks, equity snapshots,
cash flows — and reused by later runs with the same size (`--reload` starts over). Then
it builds the books with their recompute (PositionState and attribution) and times:
positions, summary, period PnL, performance by symbol, bot and strategy, a fills page
(the API's keyset query on (account, -executed_at, -id), with and without a symbol filter,
at several depths), the daily roll-up and a full verify_ledger recompute.

Targets: positions and summary p50 < 100 ms, performance by bot and by strategy p50
< 300 ms, a fills page < 20 ms at any depth, recompute >= 100,000 fills/s.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from databases import use_kept_database  # noqa: E402 - bench/ beside each script

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_read"
START = datetime(2025, 1, 1, tzinfo=UTC)


STRATEGIES = ("breakout", "mean-reversion", "momentum")
FILLS_PER_TRADE = 4


def load(n_fills: int, n_symbols: int, n_bots: int, days: int, *, reload: bool = False, seed: int = 7):
    """The bench account with its history, loaded with COPY (minutes with the ORM; seconds here)."""
    from django.db import connection, transaction

    from accounts.models import Account, Bot

    account = Account.objects.filter(slug="bench").first()
    if account is not None:
        if not reload and account.fills.count() == n_fills:
            return account, False
        print("bench: clearing the previous bench account …", flush=True)
        with connection.cursor() as cur:
            for table in ("trades_fill", "trades_trade", "trades_cashflow", "snapshots_mark",
                          "snapshots_equitysnapshot", "trades_closedtradetally", "trades_positionstate", "trades_dailypnl"):
                cur.execute(f"DELETE FROM {table} WHERE account_id = %s", [account.pk])
        account.bots.all().delete()
        account.delete()
    account = Account.objects.create(slug="bench", name="Bench", exchange="bybit", kind="paper",
                                     base_currency="USDT", initial_capital=Decimal("10000000"))
    bots = [Bot.objects.create(account=account, key=f"paper:bench-{b}").pk for b in range(n_bots)]
    rng = random.Random(seed)
    symbols = [f"S{i:03d}USDT" for i in range(n_symbols)]
    price = {s: Decimal(rng.randint(1, 5000)) for s in symbols}
    position = dict.fromkeys(symbols, 0)
    span = timedelta(days=days)
    step = span / n_fills
    now = datetime.now(UTC)
    started = time.monotonic()
    cols = ("account_id, bot_id, external_id, symbol, side, price, quantity, fee, fee_currency, other_fees, order_id, "
            "trade_id, executed_at, reason, source, meta, received_at, void_reason")
    trades = {}  # trade id -> (symbol, bot, strategy, first time, first price)
    with transaction.atomic(), connection.cursor() as cur:
        pg = cur.cursor  # the psycopg cursor, for COPY
        with pg.copy(f"COPY trades_fill ({cols}) FROM STDIN") as copy:
            for i in range(n_fills):
                s = symbols[rng.randrange(n_symbols)]
                # a random walk of ±0.2 % a fill, 2 decimals
                p = price[s] = max(Decimal("0.01"), (price[s] * (1 + Decimal(rng.randint(-20, 20)) / 10000)).quantize(
                    Decimal("0.01")))
                q = Decimal(rng.randint(1, 1000)) / 1000
                # lean back towards flat so positions open, close and flip all the time
                side = "sell" if position[s] > 0 and rng.random() < 0.6 or position[s] <= 0 and rng.random() < 0.4 \
                    else "buy"
                position[s] += q if side == "buy" else -q
                fee = (p * q * Decimal("0.0002")).quantize(Decimal("0.00000001"))
                # Every bot trades every symbol; a few fills in a row make one trade. (`--bots 0`: fills
                # alone, without bot or trade.)
                at = START + step * i
                bot, trade_id = None, ""
                if bots:
                    bot = bots[rng.randrange(len(bots))]
                    trade_id = f"t{i // FILLS_PER_TRADE}"
                    trades.setdefault(trade_id, (s, bot, STRATEGIES[rng.randrange(len(STRATEGIES))], at, p))
                copy.write_row((account.pk, bot, f"e{i}", s, side, p, q, fee, "USDT", "[]", "", trade_id, at, "",
                                "bot", "{}", now, ""))
                if i % 100000 == 0 and i:
                    print(f"\rbench: {i:,} fills copied ({i / (time.monotonic() - started):,.0f}/s)", end="",
                          flush=True)
        print(f"\rbench: {n_fills:,} fills copied in {time.monotonic() - started:.1f} s", flush=True)
        with pg.copy("COPY trades_trade (account_id, bot_id, external_id, symbol, side, status, quantity, entry_price, "
                     "entry_time, entry_fee, model, strategy, regime, order_id, metadata, close_reason, meta, "
                     "opened_at, updated_at) FROM STDIN") as copy:
            for trade_id, (s, bot, strategy, at, p) in trades.items():
                copy.write_row((account.pk, bot, trade_id, s, "long", "open", Decimal(1), p, at, 0, "", strategy, "",
                                "", "{}", "", "{}", now, now))
        with pg.copy("COPY snapshots_mark (account_id, symbol, price, ts, received_at) FROM STDIN") as copy:
            for d in range(days):
                for s in symbols:
                    copy.write_row((account.pk, s, price[s], START + timedelta(days=d, hours=23, minutes=59), now))
        with pg.copy("COPY snapshots_equitysnapshot (account_id, source, equity, exchange_ts, bucket, meta, "
                     "received_at) FROM STDIN") as copy:
            equity = Decimal("10000000")
            for h in range(days * 24):
                equity += Decimal(rng.randint(-1000, 1050))
                at = START + timedelta(hours=h)
                copy.write_row((account.pk, "computed", equity, at, at, "{}", now))
        with pg.copy("COPY trades_cashflow (account_id, external_id, kind, amount, currency, symbol, ts, meta, "
                     "received_at) FROM STDIN") as copy:
            for d in range(days):
                copy.write_row((account.pk, f"fund{d}", "funding", Decimal(rng.randint(-500, 500)) / 10, "USDT", "",
                                START + timedelta(days=d, hours=8), "{}", now))
                if d % 30 == 15:
                    copy.write_row((account.pk, f"dep{d}", "deposit", Decimal("50000"), "USDT", "",
                                    START + timedelta(days=d, hours=12), "{}", now))
    with connection.cursor() as cur:
        for table in ("trades_fill", "trades_trade", "snapshots_mark", "snapshots_equitysnapshot", "trades_cashflow"):
            cur.execute(f"VACUUM ANALYZE {table}")  # as autovacuum would: hint bits set, stats fresh
    return account, True


def timed(fn, runs: int) -> tuple[float, float, object]:
    """(p50 ms, max ms, last result) over `runs` calls."""
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), max(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fills", type=int, default=1_000_000)
    parser.add_argument("--symbols", type=int, default=200)
    parser.add_argument("--bots", type=int, default=5)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reload", action="store_true", help="Drop the bench account and load it again.")
    args = parser.parse_args()
    use_kept_database(os.environ.get("DATABASE_URL", DEFAULT_URL))

    from django.db import connection
    from django.db.models import Q

    from trades import books
    from trades.books.verify import verify_account
    from trades.models import Fill

    account, fresh = load(args.fills, args.symbols, args.bots, args.days, reload=args.reload)
    n = args.fills
    print(f"bench: account {account.slug}: {n:,} fills over {args.symbols} symbols by {args.bots} bots sharing them, "
          f"{args.days} days ({'loaded now' if fresh else 'reused'})")

    results = []

    def report(name, value, unit, target=None, ok=None):
        mark = "" if ok is None else ("  OK" if ok else "  MISSED")
        print(f"  {name:<44} {value:>12,.1f} {unit:<8}{f' (target {target})' if target else ''}{mark}", flush=True)
        results.append((name, value, unit, ok))

    t = time.perf_counter()
    books.recompute_account(account=account)
    elapsed = time.perf_counter() - t
    report("recompute PositionState (write)", n / elapsed, "fills/s", ">= 100,000", n / elapsed >= 100_000)

    t = time.perf_counter()
    check = verify_account(account=account)
    elapsed = time.perf_counter() - t
    report("verify_ledger recompute + compare", check.fills / elapsed, "fills/s", ">= 100,000",
           check.fills / elapsed >= 100_000)
    assert not check.differences, check.differences[:3]

    t = time.perf_counter()
    days = books.roll_up_days(account=account)
    report(f"roll_up_days ({days} days)", time.perf_counter() - t, "s")

    connection.ensure_connection()
    p50, worst, result = timed(lambda: books.positions(account=account), args.runs)
    report("positions p50", p50, "ms", "< 100", p50 < 100)
    report("positions max", worst, "ms")
    p50, worst, result = timed(lambda: books.summary(account=account), args.runs)
    report("summary p50", p50, "ms", "< 100", p50 < 100)
    report("summary max", worst, "ms")
    print(f"    summary: equity {result['equity']}, realized {result['realized_pnl']}, closed trades "
          f"{result['closed_trades']}, return {result['return_pct']} %, max drawdown {result['max_drawdown']} %")
    p50, worst, result = timed(lambda: books.period_pnl(account=account, period="day"), args.runs)
    report(f"daily PnL ({len(result)} days) p50", p50, "ms")
    p50, worst, result = timed(lambda: books.period_pnl(account=account, period="month"), args.runs)
    report("monthly PnL p50", p50, "ms")
    p50, worst, result = timed(lambda: books.valuation(account=account), args.runs)
    report("valuation (snapshot round) p50", p50, "ms")
    p50, worst, result = timed(lambda: books.performance(account=account, by="symbol"), args.runs)
    report("performance by symbol p50", p50, "ms")
    for by in ("bot", "strategy"):
        p50, worst, result = timed(lambda by=by: books.performance(account=account, by=by), args.runs)
        report(f"performance by {by} ({len(result)} rows) p50", p50, "ms", "< 300", p50 < 300)
    base = Fill.objects.filter(account=account)
    symbol = "S007USDT"
    for label, qs, depths in (
        ("all symbols", base, [0, 1_000, n // 2, n - 100]),
        (f"symbol={symbol}", base.filter(symbol=symbol), [0, 1_000, n // args.symbols // 2,
                                                          max(0, n // args.symbols - 100)]),
    ):
        for depth in depths:
            edge = qs.order_by("-executed_at", "-id").values_list("executed_at", "id")[depth:depth + 1].first()
            if edge is None:
                continue
            at, pk = edge
            # The keyset step of the read API (trades/api/pagination.py): (t, id) < (cursor t, cursor id),
            # with t <= cursor t as the index range start.
            page = (qs.filter(executed_at__lte=at).filter(Q(executed_at__lt=at) | Q(executed_at=at, id__lt=pk))
                    .order_by("-executed_at", "-id"))
            p50, worst, rows = timed(lambda page=page: list(page[:51]), args.runs)
            report(f"fills page, {label}, depth {depth:,}", p50, "ms", "< 20", p50 < 20)
    missed = [r for r in results if r[3] is False]
    print(f"bench: {len(results)} figures, {len(missed)} targets missed")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
