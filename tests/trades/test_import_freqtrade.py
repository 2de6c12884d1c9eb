"""import_freqtrade: a tradesv3.sqlite built here, shaped as freqtrade 2024.x writes it."""

import sqlite3
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from trades.models import Fill, Trade

pytestmark = pytest.mark.django_db

TRADES_DDL = """
CREATE TABLE trades (
    id INTEGER NOT NULL PRIMARY KEY, exchange VARCHAR(25) NOT NULL, pair VARCHAR(25) NOT NULL,
    base_currency VARCHAR(25), stake_currency VARCHAR(25), is_open BOOLEAN NOT NULL,
    fee_open FLOAT NOT NULL, fee_open_cost FLOAT, fee_open_currency VARCHAR(25),
    fee_close FLOAT NOT NULL, fee_close_cost FLOAT, fee_close_currency VARCHAR(25),
    open_rate FLOAT NOT NULL, open_rate_requested FLOAT, open_trade_value FLOAT,
    close_rate FLOAT, close_rate_requested FLOAT, realized_profit FLOAT, close_profit FLOAT,
    close_profit_abs FLOAT, stake_amount FLOAT NOT NULL, max_stake_amount FLOAT, amount FLOAT NOT NULL,
    amount_requested FLOAT, open_date DATETIME NOT NULL, close_date DATETIME, stop_loss FLOAT,
    stop_loss_pct FLOAT, initial_stop_loss FLOAT, initial_stop_loss_pct FLOAT, is_stop_loss_trailing BOOLEAN,
    max_rate FLOAT, min_rate FLOAT, exit_reason VARCHAR(255), exit_order_status VARCHAR(100),
    strategy VARCHAR(100), enter_tag VARCHAR(255), timeframe INTEGER, trading_mode VARCHAR(7),
    amount_precision FLOAT, price_precision FLOAT, precision_mode INTEGER, contract_size FLOAT,
    leverage FLOAT, is_short BOOLEAN NOT NULL, liquidation_price FLOAT, interest_rate FLOAT NOT NULL,
    funding_fees FLOAT, funding_fee_running FLOAT, record_version INTEGER NOT NULL
)"""
ORDERS_DDL = """
CREATE TABLE orders (
    id INTEGER NOT NULL PRIMARY KEY, ft_trade_id INTEGER, ft_order_side VARCHAR(25) NOT NULL,
    ft_pair VARCHAR(25) NOT NULL, ft_is_open BOOLEAN NOT NULL, ft_amount FLOAT NOT NULL, ft_price FLOAT NOT NULL,
    ft_cancel_reason VARCHAR(255), order_id VARCHAR(255) NOT NULL, status VARCHAR(255), symbol VARCHAR(25),
    order_type VARCHAR(50), side VARCHAR(25), price FLOAT, average FLOAT, amount FLOAT, filled FLOAT,
    remaining FLOAT, cost FLOAT, stop_price FLOAT, order_date DATETIME, order_filled_date DATETIME,
    order_update_date DATETIME, funding_fee FLOAT, ft_fee_base FLOAT, ft_order_tag VARCHAR(64)
)"""

TRADE_ROWS = [
    # A closed long, and an open short with its stop.
    dict(id=1, exchange="binance", pair="BTC/USDT", stake_currency="USDT", is_open=0, fee_open=0.001,
         fee_close=0.001, open_rate=42000.5, close_rate=43050.25, close_profit=0.0229, close_profit_abs=22.94,
         stake_amount=1050.0125, amount=0.025, open_date="2024-03-01 10:00:00.123000",
         close_date="2024-03-02 08:30:00", stop_loss=39900.47, exit_reason="roi", strategy="SampleStrategy",
         enter_tag="rsi_cross", timeframe=5, trading_mode="spot", leverage=1.0, is_short=0, interest_rate=0.0,
         record_version=2),
    dict(id=2, exchange="binance", pair="ETH/USDT:USDT", stake_currency="USDT", is_open=1, fee_open=0.0005,
         fee_close=0.0005, open_rate=3400.0, stake_amount=680.0, amount=0.6, open_date="2024-03-03 12:00:00",
         stop_loss=3502.0, strategy="SampleStrategy", trading_mode="futures", leverage=3.0, is_short=1,
         interest_rate=0.0, record_version=2),
]
ORDER_ROWS = [
    dict(id=1, ft_trade_id=1, ft_order_side="buy", ft_pair="BTC/USDT", ft_is_open=0, ft_amount=0.025,
         ft_price=42000.5, order_id="8812001", status="closed", symbol="BTC/USDT", order_type="limit", side="buy",
         price=42000.5, average=42000.5, amount=0.025, filled=0.025, remaining=0.0, cost=1050.0125,
         order_date="2024-03-01 10:00:00", order_filled_date="2024-03-01 10:00:00.123000"),
    dict(id=2, ft_trade_id=1, ft_order_side="sell", ft_pair="BTC/USDT", ft_is_open=0, ft_amount=0.025,
         ft_price=43050.25, order_id="8812377", status="closed", symbol="BTC/USDT", order_type="limit", side="sell",
         price=43050.25, average=43050.25, amount=0.025, filled=0.025, remaining=0.0,
         order_date="2024-03-02 08:29:00", order_filled_date="2024-03-02 08:30:00"),
    dict(id=3, ft_trade_id=1, ft_order_side="stoploss", ft_pair="BTC/USDT", ft_is_open=0, ft_amount=0.025,
         ft_price=39900.47, order_id="8812002", status="canceled", symbol="BTC/USDT", order_type="stop_loss_limit",
         side="sell", price=39900.47, amount=0.025, filled=0.0, remaining=0.025, order_date="2024-03-01 10:00:01"),
    dict(id=4, ft_trade_id=2, ft_order_side="sell", ft_pair="ETH/USDT:USDT", ft_is_open=0, ft_amount=0.6,
         ft_price=3400.0, order_id="9900001", status="closed", symbol="ETH/USDT:USDT", order_type="market",
         side="sell", price=3400.0, average=3400.0, amount=0.6, filled=0.6, remaining=0.0,
         order_date="2024-03-03 12:00:00", order_filled_date="2024-03-03 12:00:00"),
]


def build(path, trades=TRADE_ROWS, orders=ORDER_ROWS) -> str:
    db = sqlite3.connect(path)
    db.execute(TRADES_DDL)
    for row in trades:
        db.execute(f"INSERT INTO trades ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    if orders is not None:
        db.execute(ORDERS_DDL)
        for row in orders:
            db.execute(f"INSERT INTO orders ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                       list(row.values()))
    db.commit()
    db.close()
    return str(path)


def run(*args) -> str:
    out = StringIO()
    call_command("import_freqtrade", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_trades_and_their_filled_orders(account, tmp_path):
    output = run(build(tmp_path / "tradesv3.sqlite"), "--account", "alpha")
    assert "2 trades" in output
    closed = Trade.objects.get(account=account, external_id="ft-1")
    assert (closed.status, closed.side, closed.symbol, closed.quantity) == ("closed", "long", "BTC/USDT",
                                                                            Decimal("0.025"))
    assert (closed.entry_price, closed.exit_price, closed.close_reason) == (Decimal("42000.5"), Decimal("43050.25"),
                                                                           "roi")
    assert closed.sl_price == Decimal("39900.47") and closed.strategy == "SampleStrategy"
    assert closed.reported_pnl == Decimal("22.94") and closed.metadata["enter_tag"] == "rsi_cross"
    assert closed.bot.key == "freqtrade:SampleStrategy"
    # fee_open is a rate: 0.1% of 0.025 × 42000.5
    assert closed.entry_fee == Decimal("1.0500125")
    opened = Trade.objects.get(account=account, external_id="ft-2")
    assert (opened.status, opened.side, opened.leverage, opened.sl_price) == ("open", "short", Decimal("3"),
                                                                              Decimal("3502"))
    fills = list(Fill.objects.filter(account=account).order_by("executed_at"))
    assert [(f.trade_id, f.side, f.price, f.quantity, f.order_id) for f in fills] == [
        ("ft-1", "buy", Decimal("42000.5"), Decimal("0.025"), "8812001"),
        ("ft-1", "sell", Decimal("43050.25"), Decimal("0.025"), "8812377"),
        ("ft-2", "sell", Decimal("3400"), Decimal("0.6"), "9900001"),
    ]
    assert fills[0].fee == Decimal("1.0500125") and fills[0].fee_currency == "USDT"
    assert all(f.source == "import" for f in fills)


def test_reimport_adds_nothing(account, tmp_path):
    path = build(tmp_path / "tradesv3.sqlite")
    run(path, "--account", "alpha")
    counts = Trade.objects.count(), Fill.objects.count()
    output = run(path, "--account", "alpha")
    assert "0 created" in output
    assert (Trade.objects.count(), Fill.objects.count()) == counts


def test_an_old_database_without_orders_gets_fills_from_the_trade(account, tmp_path):
    old = [dict(row) for row in TRADE_ROWS]
    old[0]["sell_reason"] = old[0].pop("exit_reason")
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute(TRADES_DDL.replace("exit_reason VARCHAR(255)", "sell_reason VARCHAR(255)"))
    for row in old:
        db.execute(f"INSERT INTO trades ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    db.commit()
    db.close()
    run(str(path), "--account", "alpha")
    assert Trade.objects.get(external_id="ft-1").close_reason == "roi"
    assert sorted(Fill.objects.values_list("external_id", "side")) == [
        ("ft-1-close", "sell"), ("ft-1-open", "buy"), ("ft-2-open", "sell")]


def test_not_a_freqtrade_database(account, tmp_path):
    path = tmp_path / "empty.sqlite"
    sqlite3.connect(path).close()
    with pytest.raises(CommandError, match="no 'trades' table"):
        run(str(path), "--account", "alpha")
    with pytest.raises(CommandError, match="no such file"):
        run(str(tmp_path / "missing.sqlite"), "--account", "alpha")


def test_a_bad_trade_is_named_and_nothing_is_written(account, tmp_path):
    bad = [dict(row) for row in TRADE_ROWS]
    bad[1]["open_rate"] = -5.0
    with pytest.raises(CommandError, match="trade 2"):
        run(build(tmp_path / "bad.sqlite", trades=bad), "--account", "alpha")
    assert Trade.objects.count() == 0 and Fill.objects.count() == 0


def test_it_imports_only_into_the_named_account(account, other_account, tmp_path):
    run(build(tmp_path / "tradesv3.sqlite"), "--account", "charlie")
    assert not Trade.objects.filter(account=account).exists()
    assert Trade.objects.filter(account=other_account).count() == 2
