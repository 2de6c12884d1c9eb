"""Benchmark: a freqtrade source on PostgreSQL — a first sync of 100,000 trades, then an incremental one.

    .venv/bin/python bench/sources_bench.py [--trades 100000] [--new 100] [--open 20] [--profile first|next]

(`--profile` prints where that sync spends its time, by cumulative time or BENCH_SORT=tottime.)

Creates (drops first) two dedicated databases on the local server: tradebook's
(BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/bench_sources) and the
bot's (BENCH_FREQTRADE_URL, default …/bench_sources_ft), the bot's with freqtrade's own
`trades` and `orders` tables (the columns of the freqtrade database in
tests/trades/fixtures/freqtrade, in PostgreSQL's types). It fills the bot's with `--trades`
closed spot trades over 20 pairs, each an entry and an exit order (2 fills a trade), by
COPY, then times

1. the first sync of the source (`sync_source`, what the Celery task runs): every trade,
   its two fills, its open and close — reported as fills per second;
2. `--new` more trades written by the bot, and `--open` trades that were open at the first
   sync closed by it, and the next sync: what a sync every SOURCE_INTERVAL costs once the
   source is followed.

Targets: first sync ≥ 20,000 fills/s; incremental < 1 s. The figures depend on the
machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import io
import os
import sqlite3
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from databases import drop_database, recreate_database  # noqa: E402 - bench/ beside each script

SERVER = "postgres://postgres@127.0.0.1:5432"
FIXTURE = ROOT / "tests" / "trades" / "fixtures" / "freqtrade" / "tradesv3_t1.sqlite"
TYPES = {"DATETIME": "TIMESTAMP WITHOUT TIME ZONE", "FLOAT": "DOUBLE PRECISION", "DOUBLE": "DOUBLE PRECISION"}
PAIRS = [f"{c}/USDT" for c in ("BTC", "ETH", "SOL", "BNB", "XRP", "ADA", "DOGE", "LTC", "DOT", "AVAX", "LINK",
                               "TRX", "ATOM", "NEAR", "APT", "ARB", "OP", "FIL", "ETC", "UNI")]
START = datetime(2024, 1, 1, tzinfo=UTC)
TARGET_FIRST, TARGET_NEXT = 20_000, 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=100)
    parser.add_argument("--open", type=int, default=20, help="Trades open at the first sync, closed before the next.")
    parser.add_argument("--profile", choices=("first", "next"), help="Print where that sync spends its time.")
    args = parser.parse_args()

    db_url = os.environ.get("BENCH_DATABASE_URL", f"{SERVER}/bench_sources")
    ft_url = os.environ.get("BENCH_FREQTRADE_URL", f"{SERVER}/bench_sources_ft")
    for url in (db_url, ft_url):
        recreate_database(url)
    os.environ.update({"DATABASE_URL": db_url, "SECRET_KEY": os.environ.get("SECRET_KEY", "bench"),
                       "TRADEBOOK_DATA_DIR": tempfile.mkdtemp(prefix="sources-bench-"), "LOG_LEVEL": "WARNING",
                       "DJANGO_SETTINGS_MODULE": "tradebook.settings"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    t = time.perf_counter()
    create_freqtrade_tables(ft_url)
    # The newest trades are still open at the first sync (their entries only); the bot closes them before
    # the next, as it writes the new ones: an incremental sync both reads new trades and finds old ones changed.
    still_open = frozenset(range(args.trades - args.open + 1, args.trades + 1))
    write_trades(ft_url, 1, args.trades, open_ids=still_open)
    print(f"data: {args.trades:,} trades ({len(still_open)} of them open), {2 * args.trades - len(still_open):,} "
          f"filled orders in the bot's database in {time.perf_counter() - t:.1f} s")

    from accounts.models import Account
    from trades.models import Fill, Source
    from trades.sources import sync
    from trades.sources.sync import sync_source

    reference = ingest_reference(min(args.trades, 20_000))
    # Where a sync's time goes: the write service (`record`) against reading and translating the store.
    spent = {"record": 0.0}
    calls: list[tuple[int, float]] = []  # (items, seconds) of each record() call
    real_record = sync.record

    def timed_record(**kwargs):
        t = time.perf_counter()
        try:
            return real_record(**kwargs)
        finally:
            spent["record"] += time.perf_counter() - t
            calls.append((len(kwargs["items"]), time.perf_counter() - t))

    sync.record = timed_record

    account = Account.objects.create(slug="bench", name="Bench", exchange="binance", kind="paper",
                                     base_currency="USDT", initial_capital=100_000)
    source = Source.objects.create(account=account, name="bench", kind="freqtrade", location=ft_url)

    t = time.perf_counter()
    with profiled(args.profile == "first"):
        first = sync_source(source_id=source.pk)
    first_s = time.perf_counter() - t
    first_record = spent["record"]
    early, late = calls[:10], calls[-10:]
    per_item = [sum(c[1] for c in part) / max(1, sum(c[0] for c in part)) for part in (early, late)]
    fills = Fill.objects.filter(account=account).count()
    assert first.status == "done" and fills == 2 * args.trades - len(still_open), (first, fills)
    rate = fills / first_s

    close_trades(ft_url, sorted(still_open))
    write_trades(ft_url, args.trades + 1, args.new)
    t = time.perf_counter()
    with profiled(args.profile == "next"):
        second = sync_source(source_id=source.pk)
    next_s = time.perf_counter() - t
    assert second.status == "done" and Fill.objects.filter(account=account).count() == 2 * (args.trades + args.new)

    print(f"reference:        the write service alone books {reference:,.0f} fills/s (record(), plain fills in "
          f"batches of 1,000, one transaction)")
    print(f"first sync:       {fills:,} fills ({args.trades:,} trades) in {first_s:.1f} s = {rate:,.0f} fills/s "
          f"(target ≥ {TARGET_FIRST:,}) {'ok' if rate >= TARGET_FIRST else 'MISSED'}; {rate / reference:.2f}× the "
          f"reference; record() {first_record:.1f} s of it (each trade books 2 fills, its open and its close): "
          f"{per_item[0] * 1e6:.0f} µs an item in its first calls, {per_item[1] * 1e6:.0f} µs in its last")
    print(f"incremental sync: {args.new} new trades and {len(still_open)} closed ({second.counts['created']} items "
          f"created, {second.counts['updated']} updated) in {next_s:.2f} s "
          f"(target < {TARGET_NEXT:g} s) {'ok' if next_s < TARGET_NEXT else 'MISSED'}")
    from django.db import connections

    connections.close_all()
    for url in (db_url, ft_url):
        drop_database(url)


@contextmanager
def profiled(enabled: bool):
    if not enabled:
        yield
        return
    import cProfile
    import pstats

    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        pstats.Stats(profile).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(45)


def ingest_reference(count: int) -> float:
    """The write service's own rate on this machine now: `count` plain fills through record()."""
    from django.db import transaction

    from accounts.models import Account
    from trades.ingest import record

    account = Account.objects.create(slug="reference", name="Reference", exchange="binance", kind="paper",
                                     base_currency="USDT", initial_capital=1)
    items = [{"type": "fill", "id": f"r{n}", "symbol": PAIRS[n % len(PAIRS)], "side": "buy" if n % 2 else "sell",
              "price": "100.5", "quantity": "0.01", "fee": "0.001", "fee_currency": "USDT",
              "executed_at": (START + timedelta(seconds=n)).isoformat()} for n in range(count)]
    t = time.perf_counter()
    with transaction.atomic():
        for start in range(0, count, 1000):
            record(accounts=[account], items=items[start:start + 1000], channel="bench", default_account=account)
    return count / (time.perf_counter() - t)


def columns(table: str) -> list[tuple[str, str, bool]]:
    """(name, PostgreSQL type, primary key) of freqtrade's table, as its own database declares it."""
    db = sqlite3.connect(f"file:{FIXTURE}?mode=ro&immutable=1", uri=True)
    try:
        return [(c[1], TYPES.get(c[2].upper(), c[2]), bool(c[5]))
                for c in db.execute(f'PRAGMA table_info("{table}")')]
    finally:
        db.close()


def create_freqtrade_tables(url: str) -> None:
    import psycopg

    with psycopg.connect(url) as conn:
        for table in ("trades", "orders"):
            spec = ", ".join(f'"{n}" {t}{" PRIMARY KEY" if pk else ""}' for n, t, pk in columns(table))
            conn.execute(f'CREATE TABLE "{table}" ({spec})')
        conn.execute('CREATE INDEX "ix_orders_ft_trade_id" ON "orders" ("ft_trade_id")')  # as freqtrade's


def close_trades(url: str, ids: list[int]) -> None:
    """The bot closes these open trades: their exit orders, `is_open` false, their profit."""
    import psycopg

    with psycopg.connect(url) as conn:
        for n in ids:
            amount, rate, close, opened, closed, profit = _figures(n)
            conn.execute('UPDATE "trades" SET "is_open" = false, "close_rate" = %s, "close_date" = %s, '
                         '"close_profit_abs" = %s, "exit_reason" = %s WHERE "id" = %s',
                         (close, closed.isoformat(), profit, "roi", n))
            when = closed.isoformat()
            conn.execute('INSERT INTO "orders" ("id", "ft_trade_id", "ft_order_side", "ft_pair", "ft_is_open", '
                         '"ft_amount", "ft_price", "order_id", "status", "symbol", "order_type", "side", "price", '
                         '"average", "amount", "filled", "remaining", "cost", "order_date", "order_filled_date", '
                         '"order_update_date", "funding_fee") VALUES (%s, %s, %s, %s, false, %s, %s, %s, %s, %s, '
                         '%s, %s, %s, %s, %s, %s, 0, %s, %s, %s, %s, 0)',
                         (2 * n + 1, n, "sell", PAIRS[n % len(PAIRS)], amount, close, f"{n}-sell", "closed",
                          PAIRS[n % len(PAIRS)], "limit", "sell", close, close, amount, amount, amount * close, when,
                          when, when))


def _figures(n: int):
    amount = 0.001 * (1 + n % 50)
    rate = 100.0 + (n % 997) * 0.5
    close = rate * (1.0 + ((n % 13) - 6) / 1000)
    opened = START + timedelta(minutes=5 * n)
    closed = opened + timedelta(minutes=3)
    return amount, rate, close, opened, closed, round(amount * close * 0.999 - amount * rate * 1.001, 8)


def write_trades(url: str, first_id: int, count: int, *, open_ids: frozenset = frozenset()) -> None:
    """`count` spot trades from id `first_id`, each an entry and an exit order (by COPY); the trades
    in `open_ids` are still open (their entry only)."""
    import psycopg

    trade_columns = ["id", "exchange", "pair", "base_currency", "stake_currency", "is_open", "fee_open",
                     "fee_close", "open_rate", "close_rate", "close_profit", "close_profit_abs", "realized_profit",
                     "stake_amount", "max_stake_amount", "amount", "open_date", "close_date", "exit_reason",
                     "strategy", "trading_mode", "leverage", "is_short", "interest_rate", "record_version"]
    order_columns = ["id", "ft_trade_id", "ft_order_side", "ft_pair", "ft_is_open", "ft_amount", "ft_price",
                     "order_id", "status", "symbol", "order_type", "side", "price", "average", "amount", "filled",
                     "remaining", "cost", "order_date", "order_filled_date", "order_update_date", "funding_fee"]
    trades, orders = io.StringIO(), io.StringIO()
    for n in range(first_id, first_id + count):
        pair = PAIRS[n % len(PAIRS)]
        amount, rate, close, opened, closed, profit = _figures(n)
        still_open = n in open_ids
        row = [n, "binance", pair, pair.split("/")[0], "USDT", "t" if still_open else "f", 0.001, 0.001, rate,
               r"\N" if still_open else close, 0.0, r"\N" if still_open else profit, 0.0 if still_open else profit,
               amount * rate, amount * rate, amount, opened.isoformat(), r"\N" if still_open else closed.isoformat(),
               r"\N" if still_open else "roi", "BenchStrategy", "spot", 1.0, "f", 0.0, 2]
        trades.write("\t".join(map(str, row)) + "\n")
        legs = (("buy", rate, opened),) if still_open else (("buy", rate, opened), ("sell", close, closed))
        for k, (side, price, at) in enumerate(legs):
            when = at.isoformat()
            order = [2 * n + k, n, side, pair, "f", amount, price, f"{n}-{side}", "closed", pair, "limit", side,
                     price, price, amount, amount, 0.0, amount * price, when, when, when, 0.0]
            orders.write("\t".join(map(str, order)) + "\n")
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        for table, names, data in (("trades", trade_columns, trades), ("orders", order_columns, orders)):
            quoted = ", ".join(f'"{c}"' for c in names)
            with cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
                copy.write(data.getvalue())


if __name__ == "__main__":
    main()
