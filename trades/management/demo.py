"""Realistic demo data for a first look (seed_demo): accounts, bots, round trips, plans,
signals, marks, cash flows and snapshots over four weeks.

Everything goes through `record` (so the books, the journal and the duplicates are
those of real posts). It is deterministic: a random generator seeded by the account's
slug and the day the account was created, with ids derived from both, so running it
again posts the same items and adds nothing.
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from accounts.models import Account
from accounts.services import create_account
from core.amounts import AMOUNT_CONTEXT
from core.progress import Progress
from trades.management.importing import import_items

DAYS = 28
MARK_EVERY = timedelta(hours=4)
SNAPSHOT_EVERY = timedelta(hours=6)
FUNDING_EVERY = timedelta(hours=8)


@dataclass(frozen=True)
class Market:
    symbol: str
    start: Decimal
    tick: Decimal
    step: Decimal  # quantity step
    notional: Decimal  # typical position size in the base currency
    hourly_vol: float


@dataclass(frozen=True)
class DemoAccount:
    slug: str
    name: str
    exchange: str
    kind: str
    capital: Decimal
    cost_basis: str
    bots: dict[str, tuple[str, ...]]  # bot key -> its symbols
    fee_rate: Decimal
    leverage: Decimal


MARKETS = {
    "BTCUSDT": Market("BTCUSDT", Decimal("64000"), Decimal("0.1"), Decimal("0.001"), Decimal("2500"), 0.006),
    "ETHUSDT": Market("ETHUSDT", Decimal("3100"), Decimal("0.01"), Decimal("0.01"), Decimal("2000"), 0.008),
    "SOLUSDT": Market("SOLUSDT", Decimal("145"), Decimal("0.001"), Decimal("0.1"), Decimal("1200"), 0.011),
}

ACCOUNTS = (
    DemoAccount("demo-paper", "Demo paper", "paper", "paper", Decimal("10000"), "average",
                {"paper:BTCUSDT-ETHUSDT": ("BTCUSDT", "ETHUSDT"), "paper:SOLUSDT": ("SOLUSDT",)},
                Decimal("0.00055"), Decimal("3")),
    DemoAccount("demo-bybit-testnet", "Demo Bybit testnet", "bybit", "testnet", Decimal("5000"), "fifo",
                {"testnet:BTCUSDT": ("BTCUSDT",), "testnet:ETHUSDT-SOLUSDT": ("ETHUSDT", "SOLUSDT")},
                Decimal("0.0006"), Decimal("5")),
    DemoAccount("demo-binance-testnet", "Demo Binance testnet", "binance", "testnet", Decimal("2500"), "average",
                {"testnet:ETHUSDT": ("ETHUSDT",)}, Decimal("0.0004"), Decimal("2")),
)

STRATEGIES = ("breakout", "mean-reversion", "momentum")
REGIMES = ("trend", "range", "volatile")
CLOSE_REASONS = ("take_profit", "stop_loss", "signal", "trailing_stop", "time_exit")


def q(value: Decimal, quantum: Decimal) -> Decimal:
    with localcontext(AMOUNT_CONTEXT):
        return value.quantize(quantum, rounding=ROUND_HALF_EVEN)


def iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def prices(rng: random.Random, market: Market, start: datetime, hours: int) -> list[Decimal]:
    """An hourly random walk (log-normal steps), on the market's tick."""
    out, price = [], float(market.start)
    for _ in range(hours + 1):
        price *= 1 + rng.gauss(0, market.hourly_vol)
        out.append(q(Decimal(repr(price)), market.tick))
    return out


def account_items(demo: DemoAccount, anchor: datetime) -> list[dict]:
    """Every item of one demo account, in time order, ids stable for (slug, anchor)."""
    rng = random.Random(f"{demo.slug}:{anchor.date().isoformat()}")
    start = anchor - timedelta(days=DAYS)
    hours = DAYS * 24
    symbols = sorted({s for symbols in demo.bots.values() for s in symbols})
    series = {s: prices(rng, MARKETS[s], start, hours) for s in symbols}
    bot_of = {s: bot for bot, bot_symbols in demo.bots.items() for s in bot_symbols}
    timed: list[tuple[datetime, int, dict]] = []
    seq = iter(range(10**9))

    def add(when: datetime, item: dict) -> None:
        timed.append((when, next(seq), item))

    # The initial capital is the account's; a later deposit shows that a deposit is not a profit.
    extra_deposit_at = start + timedelta(days=14)
    add(extra_deposit_at, {"type": "cashflow", "id": f"{demo.slug}-deposit-1", "kind": "deposit",
                           "amount": str(q(demo.capital / 5, Decimal("1"))), "currency": "USDT",
                           "ts": iso(extra_deposit_at)})
    n_fill = 0
    for symbol in symbols:
        market, path, bot = MARKETS[symbol], series[symbol], bot_of[symbol]
        hour = rng.randrange(1, 8)
        trip = 0
        while hour < hours - 2:
            trip += 1
            hold = rng.randrange(3, 30)
            exit_hour = hour + hold
            is_last = exit_hour >= hours
            side = "long" if rng.random() < 0.55 else "short"
            entry_time = start + timedelta(hours=hour, minutes=rng.randrange(0, 60), seconds=rng.randrange(0, 60))
            entry_price = path[hour]
            quantity = max(q(market.notional / entry_price * Decimal(str(rng.uniform(0.6, 1.4))), market.step),
                           market.step)
            strategy = rng.choice(STRATEGIES)
            confidence = q(Decimal(str(rng.uniform(0.52, 0.93))), Decimal("0.01"))
            trade_id = f"{demo.slug}-{symbol}-{trip}"
            risk = q(entry_price * Decimal(str(rng.uniform(0.01, 0.03))), market.tick)
            direction = 1 if side == "long" else -1
            sl = entry_price - direction * risk
            tp = entry_price + direction * risk * 2
            add(entry_time - timedelta(seconds=5), {
                "type": "signal", "id": f"{trade_id}-signal", "symbol": symbol, "value": direction,
                "generated_at": iso(entry_time - timedelta(seconds=5)), "strength": str(confidence),
                "strategy": strategy, "bot": bot,
                "metadata": {"rsi": str(round(rng.uniform(20, 80), 1)), "atr": str(q(risk / 2, market.tick))},
            })
            entry_side = "buy" if side == "long" else "sell"
            exit_side = "sell" if side == "long" else "buy"
            entry_fee = q(entry_price * quantity * demo.fee_rate, Decimal("0.00000001"))
            order_id = f"{trade_id}-entry"
            n_fill += 1
            add(entry_time, {"type": "order", "id": order_id, "symbol": symbol, "side": entry_side,
                             "order_type": "market", "status": "filled", "quantity": str(quantity),
                             "filled_quantity": str(quantity), "average_price": str(entry_price),
                             "updated_at": iso(entry_time), "bot": bot})
            add(entry_time, {"type": "fill", "id": f"{demo.slug}-f{n_fill}", "symbol": symbol, "side": entry_side,
                             "price": str(entry_price), "quantity": str(quantity), "fee": str(entry_fee),
                             "fee_currency": "USDT", "order_id": order_id, "trade_id": trade_id,
                             "is_maker": False, "executed_at": iso(entry_time), "reason": "entry", "bot": bot})
            add(entry_time, {"type": "trade.open", "id": trade_id, "symbol": symbol, "side": side,
                             "quantity": str(quantity), "entry_price": str(entry_price), "entry_time": iso(entry_time),
                             "leverage": str(demo.leverage), "margin": str(q(entry_price * quantity / demo.leverage,
                                                                             Decimal("0.01"))),
                             "sl_price": str(sl), "tp_price": str(tp), "trail_percent": "1.5",
                             "model": "lgbm-v3", "confidence": str(confidence), "strategy": strategy,
                             "regime": rng.choice(REGIMES), "entry_fee": str(entry_fee), "order_id": order_id,
                             "bot": bot, "metadata": {"timeframe": "1h"}})
            if is_last:
                break  # left open: the demo has open positions and trades to recover
            # Exit in one or two fills (a partial take-profit first).
            exit_time = start + timedelta(hours=exit_hour, minutes=rng.randrange(0, 60), seconds=rng.randrange(0, 60))
            exit_price = path[exit_hour]
            parts = [quantity]
            if rng.random() < 0.35 and quantity >= market.step * 2:
                first = q(quantity / 2, market.step)
                parts = [first, quantity - first]
            exit_fees = Decimal(0)
            realized = Decimal(0)
            for k, part in enumerate(parts):
                when = exit_time + timedelta(minutes=7 * k)
                price = exit_price if k == len(parts) - 1 else q(
                    (exit_price + entry_price) / 2, market.tick)
                fee = q(price * part * demo.fee_rate, Decimal("0.00000001"))
                exit_fees += fee
                realized += (price - entry_price) * part * direction
                n_fill += 1
                exit_order = f"{trade_id}-exit-{k}"
                add(when, {"type": "order", "id": exit_order, "symbol": symbol, "side": exit_side,
                           "order_type": "limit" if k == 0 and len(parts) == 2 else "market", "status": "filled",
                           "price": str(price), "quantity": str(part), "filled_quantity": str(part),
                           "average_price": str(price), "reduce_only": True, "updated_at": iso(when), "bot": bot})
                add(when, {"type": "fill", "id": f"{demo.slug}-f{n_fill}", "symbol": symbol, "side": exit_side,
                           "price": str(price), "quantity": str(part), "fee": str(fee), "fee_currency": "USDT",
                           "order_id": exit_order, "trade_id": trade_id, "is_maker": k == 0 and len(parts) == 2,
                           "executed_at": iso(when), "reason": "exit", "bot": bot})
            close_time = exit_time + timedelta(minutes=7 * (len(parts) - 1))
            reported = q(realized - entry_fee - exit_fees, Decimal("0.00000001"))
            # Drawn first (the generator's sequence, hence every later item, stays as it was), then
            # made to agree with the outcome: no stop loss closes a winner, no take profit a loser.
            reason = rng.choice(CLOSE_REASONS)
            if reported > 0 and reason == "stop_loss":
                reason = "take_profit"
            elif reported < 0 and reason == "take_profit":
                reason = "stop_loss"
            add(close_time, {"type": "trade.close", "id": trade_id, "exit_price": str(exit_price),
                             "exit_time": iso(close_time), "close_reason": reason,
                             "exit_fee": str(exit_fees), "reported_pnl": str(reported), "bot": bot})
            hour = exit_hour + rng.randrange(1, 12)

    # Marks, funding, snapshots on a clock; the position/equity figures follow the items above.
    clock = start + MARK_EVERY
    while clock <= anchor:
        hour = int((clock - start) / timedelta(hours=1))
        for symbol in symbols:
            add(clock, {"type": "mark", "symbol": symbol, "price": str(series[symbol][min(hour, hours)]),
                        "ts": iso(clock)})
        clock += MARK_EVERY
    clock = start + FUNDING_EVERY
    n_funding = 0
    while clock <= anchor:
        for symbol in symbols:
            n_funding += 1
            rate = Decimal(str(round(rng.uniform(-0.0001, 0.0003), 6)))
            amount = q(-MARKETS[symbol].notional * rate, Decimal("0.00000001"))
            if amount != 0:
                add(clock, {"type": "cashflow", "id": f"{demo.slug}-funding-{n_funding}", "kind": "funding",
                            "amount": str(amount), "currency": "USDT", "symbol": symbol, "ts": iso(clock)})
        clock += FUNDING_EVERY
    add(anchor, {"type": "cashflow", "id": f"{demo.slug}-rebate-1", "kind": "rebate", "amount": "1.25",
                 "currency": "USDT", "ts": iso(anchor - timedelta(hours=1))})
    timed.sort(key=lambda entry: (entry[0], entry[1]))
    ledger = [item for _, _, item in timed if item["type"] in ("fill", "cashflow", "trade.close")]
    _snapshots(demo, ledger, series, start, anchor, add)
    timed.sort(key=lambda entry: (entry[0], entry[1]))
    return [item for _, _, item in timed]


def _snapshots(demo: DemoAccount, ledger: list[dict], series: dict, start: datetime, anchor: datetime, add) -> None:
    """Positions, wallet and equity as a bot would report them, replaying the ledger on a clock."""
    position: dict[str, tuple[Decimal, Decimal]] = {}
    cash = demo.capital
    trades = 0
    i = 0
    clock = start + SNAPSHOT_EVERY
    bot = next(iter(demo.bots))
    while clock <= anchor:
        while i < len(ledger) and _time(ledger[i]) <= clock:
            item = ledger[i]
            i += 1
            if item["type"] == "cashflow":
                cash += Decimal(item["amount"])
            elif item["type"] == "fill":
                qty = Decimal(item["quantity"]) * (1 if item["side"] == "buy" else -1)
                price = Decimal(item["price"])
                held, entry = position.get(item["symbol"], (Decimal(0), Decimal(0)))
                cash -= Decimal(item["fee"])
                if held == 0 or (held > 0) == (qty > 0):
                    total = held + qty
                    entry = (abs(held) * entry + abs(qty) * price) / abs(total)
                    held = total
                else:
                    cash += (price - entry) * min(abs(qty), abs(held)) * (1 if held > 0 else -1)
                    held += qty
                position[item["symbol"]] = (held, entry if held != 0 else Decimal(0))
            elif item["type"] == "trade.close":
                trades += 1
        hour = min(int((clock - start) / timedelta(hours=1)), DAYS * 24)
        unrealized = Decimal(0)
        value = Decimal(0)
        for symbol, path in series.items():
            held, entry = position.get(symbol, (Decimal(0), Decimal(0)))
            mark = path[hour]
            pnl = q(held * (mark - entry), Decimal("0.00000001"))
            unrealized += pnl
            value += abs(held) * mark
            snapshot = {"type": "position", "symbol": symbol, "side": "long" if held > 0 else "short" if held < 0
                        else "flat", "size": str(abs(held)), "mark_price": str(mark), "exchange_ts": iso(clock),
                        "bot": bot}
            if held != 0:
                snapshot.update(entry_price=str(q(entry, MARKETS[symbol].tick)), unrealized_pnl=str(pnl),
                                leverage=str(demo.leverage))
            add(clock, snapshot)
        cash_q = q(cash, Decimal("0.00000001"))
        equity = cash_q + unrealized
        open_count = sum(1 for held, _ in position.values() if held != 0)
        add(clock, {"type": "equity", "equity": str(equity), "cash": str(cash_q),
                    "positions_value": str(q(value, Decimal("0.01"))), "positions_count": open_count,
                    "total_trades": trades, "initial_capital": str(demo.capital),
                    "returns_pct": str(q((equity - demo.capital) / demo.capital * 100, Decimal("0.0001"))),
                    "exchange_ts": iso(clock), "bot": bot})
        if clock.hour == 0:
            add(clock, {"type": "wallet", "coin": "USDT", "wallet_balance": str(cash_q),
                        "available_balance": str(q(cash_q - value / demo.leverage, Decimal("0.00000001"))),
                        "equity": str(equity), "exchange_ts": iso(clock), "bot": bot})
        clock += SNAPSHOT_EVERY


def _time(item: dict) -> datetime:
    for name in ("executed_at", "exit_time", "entry_time", "ts", "updated_at", "generated_at"):
        if name in item:
            return datetime.fromisoformat(item[name].replace("Z", "+00:00"))
    raise KeyError(item["type"])


CHANNEL = "seed_demo"


def seed(*, force: bool = False, stderr=None) -> list[tuple[Account, dict[str, int] | None]]:
    """Create (or find) the demo accounts and post their items. Returns each account's counts.

    An account seeded before is left alone (None): posting again would add no rows but
    journal every duplicate, and a start script may run this at every start. `force`
    posts anyway (every item then reports a duplicate).
    """
    out: list[tuple[Account, dict[str, int] | None]] = []
    for demo in ACCOUNTS:
        account = Account.objects.filter(slug=demo.slug).first()
        if account is not None and not force and account.events.filter(channel=CHANNEL).exists():
            out.append((account, None))
            continue
        if account is None:
            account = create_account(slug=demo.slug, name=demo.name, exchange=demo.exchange, kind=demo.kind,
                                     base_currency="USDT", initial_capital=demo.capital, cost_basis=demo.cost_basis)
        # The data ends on the day the account was made, so a re-run posts exactly the same items.
        anchor = account.created_at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        items = account_items(demo, anchor)
        with Progress(len(items), label=f"seed {demo.slug}", stream=stderr) as bar:
            counts = import_items(account=account, items=items, channel=CHANNEL, progress=bar,
                                  where=lambda i, items=items: f"demo item {i} ({items[i].get('type')})")
        out.append((account, counts))
    return out
