"""The freqtrade test databases (written by freqtrade's own code: fixtures/freqtrade/make_databases.py)
and freqtrade's figures for them."""

import json
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

DATA = Path(__file__).resolve().parent / "fixtures" / "freqtrade"
T0, T1 = DATA / "tradesv3_t0.sqlite", DATA / "tradesv3_t1.sqlite"
EXPECTED = json.loads((DATA / "expected.json").read_text())


def expected(moment: str = "t1") -> dict:
    return EXPECTED[moment]


def figure(value) -> Decimal:
    """A float freqtrade computed, by its shortest text."""
    return Decimal(repr(value))


def bot_file(tmp_path: Path, moment: Path = None) -> Path:
    """A copy of a test database where a bot would keep it (the tests read copies, never the committed files)."""
    return copy_to(moment or T1, tmp_path / "tradesv3.sqlite")


def copy_to(source: Path, target: Path) -> Path:
    """The database at `source` as the bot's file at `target` (overwritten in place when it exists:
    the same file, grown, as freqtrade's own writes leave it)."""
    if target.exists():
        src, dst = sqlite3.connect(f"file:{source}?mode=ro&immutable=1", uri=True), sqlite3.connect(target)
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
    else:
        shutil.copyfile(source, target)
    return target


def rows(path: Path) -> tuple[list[dict], list[dict]]:
    # immutable: the committed files are never touched (a WAL reader would leave -shm/-wal beside them).
    db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    db.row_factory = sqlite3.Row
    try:
        trades = [dict(r) for r in db.execute("SELECT * FROM trades ORDER BY id")]
        orders = [dict(r) for r in db.execute("SELECT * FROM orders ORDER BY id")]
    finally:
        db.close()
    return trades, orders


def many_trades(path: Path, count: int) -> Path:
    """A freqtrade database (freqtrade's own tables, from the fixture) with `count` closed spot trades,
    each an entry and an exit order: for tests that need many rows (a sync in several batches)."""
    src = sqlite3.connect(f"file:{T1}?mode=ro&immutable=1", uri=True)
    ddl = [sql for (sql,) in src.execute("SELECT sql FROM sqlite_master WHERE type = 'table' "
                                        "AND name IN ('trades', 'orders')")]
    src.close()
    db = sqlite3.connect(path)
    with db:
        for sql in ddl:
            db.execute(sql)
        for n in range(1, count + 1):
            pair = ("BTC/USDT", "ETH/USDT", "SOL/USDT")[n % 3]
            amount, rate = 0.001 * (1 + n % 7), 100.0 + n % 97
            close = rate * 1.002
            opened, closed = f"2025-01-01 00:00:00.{n:06d}", f"2025-01-02 00:00:00.{n:06d}"
            db.execute("INSERT INTO trades (id, exchange, pair, base_currency, stake_currency, is_open, fee_open, "
                       "fee_close, open_rate, close_rate, close_profit_abs, stake_amount, amount, open_date, "
                       "close_date, exit_reason, strategy, trading_mode, leverage, is_short, interest_rate, "
                       "is_stop_loss_trailing, record_version) VALUES (?, 'binance', ?, ?, 'USDT', 0, 0.001, 0.001, "
                       "?, ?, 0.0, ?, ?, ?, ?, 'roi', 'Many', 'spot', 1.0, 0, 0.0, 0, 2)",
                       (n, pair, pair[:3], rate, close, amount * rate, amount, opened, closed))
            for k, (side, price, at) in enumerate((("buy", rate, opened), ("sell", close, closed))):
                db.execute("INSERT INTO orders (id, ft_trade_id, ft_order_side, ft_pair, ft_is_open, ft_amount, "
                           "ft_price, order_id, status, symbol, order_type, side, price, average, amount, filled, "
                           "remaining, cost, order_date, order_filled_date, order_update_date) VALUES "
                           "(?, ?, ?, ?, 0, ?, ?, ?, 'closed', ?, 'limit', ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
                           (2 * n + k, n, side, pair, amount, price, f"{n}-{side}", pair, side, price, price, amount,
                            amount, amount * price, at, at, at))
    db.close()
    return path
