"""Admin benchmark: the home page, the account page, the fills list and performance by bot and
strategy over a long history, server time (the Django test client, in process: no network).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_admin .venv/bin/python bench/admin_bench.py
        [--fills 1000000] [--big-fills 4000000] [--symbols 200] [--days 365] [--runs 15] [--reload]

PostgreSQL only. The database is created when missing and migrated. Two accounts are loaded
with `INSERT … SELECT generate_series` (seconds, not the hours the write path would take):

- `bench-admin`: `--fills` fills over `--symbols` symbols and `--days` days up to now, posted by
  5 bots that share the symbols, in trades (an entry and an exit fill each, a strategy of 4, a
  stop set), daily marks of every symbol, daily funding, a deposit a month, a withdrawal, and
  the equity a bot reported every hour. Then the books are rebuilt as `verify_ledger --repair`
  does (`recompute_account`: positions and attribution) and the days rolled up as the nightly
  task does (`roll_up_days`).
- `bench-admin-big`: `--big-fills` more fills (inactive: the home page leaves it out), so the
  fills list runs over `--fills + --big-fills` rows.

Both are reused by later runs of the same size (`--reload` starts over). Targets: home and
account page (every period) p50 < 300 ms; fills list, first page and a deep filtered page,
< 100 ms; performance by bot and by strategy p50 < 300 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from databases import use_kept_database  # noqa: E402 - bench/ beside each script

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_admin"
MAIN, BIG = "bench-admin", "bench-admin-big"
BOTS = ("bench:alpha", "bench:beta", "bench:gamma", "bench:delta", "bench:epsilon")
STRATEGIES = ("breakout", "mean-reversion", "momentum", "carry")


def drop(slug: str) -> None:
    from django.db import connection

    from accounts.models import Account

    account = Account.objects.filter(slug=slug).first()
    if account is None:
        return
    with connection.cursor() as cur:
        for table in ("trades_fill", "trades_trade", "trades_cashflow", "snapshots_mark", "snapshots_equitysnapshot",
                      "trades_positionstate", "trades_dailypnl", "trades_closedtradetally", "trades_event",
                      "accounts_bot"):
            cur.execute(f"DELETE FROM {table} WHERE account_id = %s", [account.pk])
    account.delete()


def load_fills(account, bots: list[int], n: int, n_symbols: int, days: int, *, end: datetime,
               with_trades: bool) -> None:
    """`n` fills, two per trade (entry, exit), trade k on symbol k mod n_symbols: the trades of a
    symbol follow each other, so its position opens and goes back to flat all year."""
    from django.db import connection

    trades = n // 2
    start = end - timedelta(days=days)
    span = (end - start).total_seconds()
    now = datetime.now(UTC)
    params = {"account": account.pk, "trades": trades, "symbols": n_symbols, "start": start, "span": span,
              "now": now, "bots": bots, "strategies": list(STRATEGIES)}
    # Per trade k: its symbol, direction, entry and exit prices (a slow wave plus a per-trade move),
    # quantity, times (entry at slot 2k, exit at 2k+1 of n evenly spaced slots), bot and strategy.
    trade_rows = """
        SELECT k, %(account)s AS account_id,
               'S' || lpad((k %% %(symbols)s)::text, 3, '0') || 'USDT' AS symbol,
               CASE WHEN k %% 3 = 0 THEN -1 ELSE 1 END AS dir,
               round((100 + (k %% %(symbols)s) * 7 + 10 * sin(k / 5000.0 + k %% %(symbols)s))::numeric, 2) AS entry,
               ((k * 37) %% 41 - 20) / 2000.0 AS move,
               ((k * 13) %% 1000 + 1) / 1000.0 AS qty,
               %(start)s::timestamptz + make_interval(secs => (2 * k) * %(span)s / (2 * %(trades)s)) AS t_in,
               %(start)s::timestamptz + make_interval(secs => (2 * k + 1) * %(span)s / (2 * %(trades)s)) AS t_out,
               (%(bots)s::bigint[])[1 + (k * 7) %% array_length(%(bots)s::bigint[], 1)] AS bot_id,
               (%(strategies)s::text[])[1 + (k / 3) %% 4] AS strategy
        FROM generate_series(0, %(trades)s - 1) AS k"""
    fill_cols = ("account_id, bot_id, external_id, symbol, side, price, quantity, fee, fee_currency, other_fees, "
                 "order_id, trade_id, is_maker, executed_at, reported_pnl, reason, source, meta, received_at, "
                 "voided_at, void_reason")
    with connection.cursor() as cur:
        cur.execute(f"""
            INSERT INTO trades_fill ({fill_cols})
            SELECT account_id, bot_id, 'f' || k || leg, symbol,
                   CASE WHEN (dir = 1) = (leg = 'i') THEN 'buy' ELSE 'sell' END,
                   CASE WHEN leg = 'i' THEN entry ELSE round(entry * (1 + move), 2) END, qty,
                   round(entry * qty * 0.0004, 8), 'USDT', '[]', '',
                   {"'t' || k" if with_trades else "''"}, false,
                   CASE WHEN leg = 'i' THEN t_in ELSE t_out END, NULL, '', 'bot', '{{}}', %(now)s, NULL, ''
            FROM ({trade_rows}) t CROSS JOIN (VALUES ('i'), ('o')) AS legs(leg)""", params)
        if with_trades:
            cur.execute(f"""
                INSERT INTO trades_trade (account_id, bot_id, external_id, symbol, side, status, quantity,
                    entry_price, entry_time, entry_fee, leverage, margin, sl_price, tp_price, trail_percent, model,
                    confidence, strategy, regime, order_id, metadata, exit_price, exit_time, exit_fee, close_reason,
                    reported_pnl, pnl, meta, opened_at, updated_at, closed_at)
                SELECT account_id, bot_id, 't' || k, symbol, CASE WHEN dir = 1 THEN 'long' ELSE 'short' END,
                       'closed', qty, entry, t_in, round(entry * qty * 0.0004, 8), 3, NULL,
                       round(entry * (1 - dir * 0.01), 2), NULL, NULL, 'bench', NULL, strategy, '', '', '{{}}',
                       round(entry * (1 + move), 2), t_out, round(round(entry * (1 + move), 2) * qty * 0.0004, 8),
                       CASE WHEN move * dir > 0 THEN 'take_profit' ELSE 'stop_loss' END, NULL,
                       (round(entry * (1 + move), 2) - entry) * qty * dir
                         - round(entry * qty * 0.0004, 8) - round(round(entry * (1 + move), 2) * qty * 0.0004, 8),
                       '{{}}', t_in, t_out, t_out
                FROM ({trade_rows}) t""", params)


def load(n_fills: int, n_big: int, n_symbols: int, days: int, *, reload: bool):
    from django.db import connection, transaction

    from accounts.models import Account, Bot
    from trades import books

    main = Account.objects.filter(slug=MAIN).first()
    big = Account.objects.filter(slug=BIG).first()
    fresh = reload or main is None or big is None or main.fills.count() != n_fills or big.fills.count() != n_big
    if not fresh:
        return main, big, False
    drop(MAIN)
    drop(BIG)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    started = time.monotonic()
    with transaction.atomic():
        main = Account.objects.create(slug=MAIN, name="Bench admin", exchange="bybit", kind="live",
                                      base_currency="USDT", initial_capital=Decimal("1000000"))
        big = Account.objects.create(slug=BIG, name="Bench admin (fills list)", exchange="bybit", kind="live",
                                     base_currency="USDT", initial_capital=Decimal("1000000"), is_active=False)
        bots = [Bot.objects.create(account=main, key=key).pk for key in BOTS]
        big_bots = [Bot.objects.create(account=big, key=key).pk for key in BOTS]
        load_fills(main, bots, n_fills, n_symbols, days, end=end, with_trades=True)
        print(f"bench: {n_fills:,} fills and {n_fills // 2:,} trades inserted "
              f"({time.monotonic() - started:.0f} s)", flush=True)
        load_fills(big, big_bots, n_big, n_symbols, days, end=end, with_trades=False)
        print(f"bench: {n_big:,} more fills inserted ({time.monotonic() - started:.0f} s)", flush=True)
        start = end - timedelta(days=days)
        now = datetime.now(UTC)
        with connection.cursor() as cur:
            cur.execute("""
                INSERT INTO snapshots_mark (account_id, symbol, price, ts, received_at)
                SELECT %s, 'S' || lpad(s::text, 3, '0') || 'USDT', round((100 + s * 7 + 5 * cos(d / 9.0))::numeric, 2),
                       %s::timestamptz + make_interval(days => d, hours => 23, mins => 59), %s
                FROM generate_series(0, %s - 1) AS s, generate_series(0, %s - 1) AS d""",
                        [main.pk, start, now, n_symbols, days])
            cur.execute("""
                INSERT INTO trades_cashflow (account_id, bot_id, external_id, kind, amount, currency, symbol, ts, meta,
                                             received_at)
                SELECT %(a)s, NULL::bigint, 'fund' || d, 'funding', round(((d * 17) %% 100 - 50) / 10.0, 2), 'USDT', '',
                       %(start)s::timestamptz + make_interval(days => d, hours => 8), '{}'::jsonb, %(now)s
                FROM generate_series(0, %(days)s - 1) AS d
                UNION ALL
                SELECT %(a)s, NULL::bigint, 'dep' || d, 'deposit', 50000, 'USDT', '',
                       %(start)s::timestamptz + make_interval(days => d, hours => 12), '{}'::jsonb, %(now)s
                FROM generate_series(15, %(days)s - 1, 30) AS d
                UNION ALL
                SELECT %(a)s, NULL::bigint, 'wd1', 'withdrawal', -100000, 'USDT', '',
                       %(start)s::timestamptz + make_interval(days => %(days)s / 2, hours => 13), '{}'::jsonb, %(now)s""",
                        {"a": main.pk, "start": start, "now": now, "days": days})
            cur.execute("""
                INSERT INTO snapshots_equitysnapshot (account_id, bot_id, source, equity, cash, positions_value,
                    positions_count, total_trades, returns_pct, exchange_ts, bucket, meta, received_at)
                SELECT %s, %s, 'reported', round((1000000 + 20000 * sin(h / 500.0))::numeric, 2), NULL, NULL, NULL,
                       NULL, NULL, %s::timestamptz + make_interval(hours => h), NULL, '{}', %s
                FROM generate_series(0, %s * 24 - 1) AS h""", [main.pk, bots[0], start, now, days])
    with connection.cursor() as cur:
        for table in ("trades_fill", "trades_trade", "snapshots_mark", "snapshots_equitysnapshot", "trades_cashflow"):
            cur.execute(f"VACUUM ANALYZE {table}")
    t = time.monotonic()
    books.recompute_account(account=main)
    print(f"bench: books recomputed (positions, attribution) in {time.monotonic() - t:.0f} s", flush=True)
    t = time.monotonic()
    days_rolled = books.roll_up_days(account=main)
    print(f"bench: {days_rolled} days rolled up in {time.monotonic() - t:.0f} s", flush=True)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE trades_positionstate, trades_closedtradetally, trades_dailypnl")
    return main, big, True


def timed(fn, runs: int) -> tuple[float, float]:
    """(p50 ms, max ms) over `runs` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), max(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fills", type=int, default=1_000_000)
    parser.add_argument("--big-fills", type=int, default=4_000_000)
    parser.add_argument("--symbols", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--reload", action="store_true", help="Drop the bench accounts and load them again.")
    args = parser.parse_args()
    use_kept_database(os.environ.get("DATABASE_URL", DEFAULT_URL))

    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from trades import books

    main_account, big, fresh = load(args.fills, args.big_fills, args.symbols, args.days, reload=args.reload)
    total = args.fills + args.big_fills
    print(f"bench: {main_account.slug}: {args.fills:,} fills, {args.symbols} symbols, {len(BOTS)} bots, "
          f"{args.days} days; {big.slug}: {args.big_fills:,} fills ({'loaded now' if fresh else 'reused'})")
    user, _ = get_user_model().objects.get_or_create(username="bench-admin",
                                                     defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)
    missed = []

    def page(url: str) -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    def report(name: str, p50: float, worst: float, target: float) -> None:
        ok = p50 < target
        if not ok:
            missed.append(name)
        print(f"  {name:<52} p50 {p50:8.1f} ms  max {worst:8.1f} ms  (target p50 < {target:.0f} ms)"
              f"  {'OK' if ok else 'MISSED'}", flush=True)

    with open("/proc/loadavg") as f:
        loadavg = f.read().split()[:3]
    print(f"server time over {args.runs} runs (load average {' '.join(loadavg)} on {os.cpu_count()} cores):")
    report("home (/admin/)", *timed(lambda: page(reverse("admin:index")), args.runs), 300)
    account_url = reverse("admin:accounts_account_page", args=[main_account.pk])
    for period in ("7d", "30d", "90d", "1y", "all"):
        report(f"account page, period {period}", *timed(lambda p=period: page(f"{account_url}?period={p}"),
                                                         args.runs), 300)
    fills = reverse("admin:trades_fill_changelist")
    symbol = "S007USDT"
    lists = [
        (f"fills list, first page ({total:,} fills)", fills),
        ("fills list, first page of one account", f"{fills}?account__id__exact={big.pk}"),
        ("fills list, page 200 of one account", f"{fills}?account__id__exact={big.pk}&p=200"),
        ("fills list, page 100 of one account and symbol",
         f"{fills}?account__id__exact={big.pk}&symbol={symbol}&p=100"),
        ("fills list, page 100 of a symbol and side", f"{fills}?symbol={symbol}&side__exact=sell&p=100"),
    ]
    for name, url in lists:
        report(name, *timed(lambda u=url: page(u), args.runs), 100)
    # Searching is by exact id; a fill id is indexed only with its account and symbol (the key).
    report("fills list, search a trade id in one account",
           *timed(lambda: page(f"{fills}?account__id__exact={main_account.pk}&q=t12345"), args.runs), 100)
    report("fills list, search a fill id in every account", *timed(lambda: page(f"{fills}?q=f12345i"), args.runs), 100)
    for by in ("bot", "strategy", "symbol"):
        report(f"performance by {by} (books.performance)",
               *timed(lambda b=by: books.performance(account=main_account, by=b), args.runs), 300)
    report("summary (books.summary)", *timed(lambda: books.summary(account=main_account), args.runs), 300)
    print("bench: all targets met" if not missed else f"bench: MISSED {', '.join(missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
