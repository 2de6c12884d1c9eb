"""A paper engine's whole events.jsonl, imported: the books agree with the engine's own figures.

The engine below is the kind tradebook replaces: it keeps cash in Decimal, charges a commission
on every fill's notional (in the account's base currency), reports each fill's realized PnL in
`pnl` and writes a `metric` line with its equity now and then, numbers as JSON floats. Its run
ends flat, so its last equity is the cash it holds: what tradebook's books must value the account
at, with fees equal to the commissions it charged.
"""

import json
import random
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from trades import books
from trades.models import Fill

pytestmark = pytest.mark.django_db

RATE = Decimal("0.001")  # the engine's commission, on the notional
CENT8 = Decimal("1e-8")


def paper_engine_run(fills: int, seed: int = 7) -> tuple[list[dict], dict]:
    """A long/flat engine over two symbols, average cost; `fills` trade lines, ending flat."""
    rng = random.Random(seed)
    cash = Decimal("10000")
    prices = {"BTCUSD": Decimal("42000"), "ETHUSD": Decimal("2500")}
    held = {symbol: (Decimal(0), Decimal(0)) for symbol in prices}  # quantity, average price
    lines, commission_total = [], Decimal(0)
    minute = 0

    def line(kind: str, **fields) -> None:
        nonlocal minute
        minute += 7
        lines.append({"type": kind, "timestamp": f"2026-01-{5 + minute // 1440:02d}T{minute // 60 % 24:02d}:"
                      f"{minute % 60:02d}:00", "bot_id": "paper:BTCUSD-ETHUSD", **fields})

    def trade(symbol: str, side: str, quantity: Decimal) -> None:
        nonlocal cash, commission_total
        price = prices[symbol]
        commission = (price * quantity * RATE).quantize(CENT8)
        size, average = held[symbol]
        if side == "BUY":
            cash -= price * quantity + commission
            held[symbol] = (size + quantity, (size * average + quantity * price) / (size + quantity))
            pnl = Decimal(0)
        else:
            cash += price * quantity - commission
            pnl = ((price - average) * quantity).quantize(CENT8)
            held[symbol] = (size - quantity, average if size - quantity else Decimal(0))
        commission_total += commission
        line("trade", symbol=symbol, side=side, price=float(price), quantity=float(quantity),
             commission=float(commission), pnl=float(pnl))

    left = fills
    while left:
        for symbol in prices:  # prices walk in cents
            prices[symbol] = max(Decimal(1), prices[symbol] + Decimal(rng.randint(-400, 400)) / 100)
        symbol = rng.choice(list(prices))
        size = held[symbol][0]
        must_close = left <= sum(1 for s in held.values() if s[0])  # room left only to go flat
        if size and (must_close or rng.random() < 0.5):
            trade(symbol, "SELL", size)
        elif not must_close and left > 1 + sum(1 for s in held.values() if s[0]):
            trade(symbol, "BUY", Decimal(rng.randint(1, 40)) / 1000)
        else:
            continue
        left -= 1
        if left % 20 == 0:
            line("metric", equity=float(cash + sum(q * prices[s] for s, (q, _a) in held.items())), cash=float(cash),
                 positions_count=sum(1 for q, _a in held.values() if q), initial_capital=10000)
    assert not any(q for q, _a in held.values())
    line("metric", equity=float(cash), cash=float(cash), positions_count=0, initial_capital=10000)
    return lines, {"equity": cash, "commission": commission_total}


def test_a_paper_engines_file_books_its_commissions_and_ends_at_its_equity(account, tmp_path):
    lines, engine = paper_engine_run(147)
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    call_command("import_events", str(path), "--account", account.slug, stdout=StringIO(), stderr=StringIO())

    assert Fill.objects.filter(account=account).count() == 147
    summary = books.summary(account=account)
    assert Decimal(summary["fees"]) == engine["commission"]
    assert Decimal(summary["equity"]) == engine["equity"] == Decimal(str(lines[-1]["equity"]))
    assert summary["open_positions"] == 0
    # Each fill's reported PnL is the engine's: the books' realized PnL meets it fill by fill.
    reported = sum(f.reported_pnl for f in Fill.objects.filter(account=account))
    assert Decimal(summary["realized_pnl"]) == reported
