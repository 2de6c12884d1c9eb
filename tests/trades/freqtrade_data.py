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
