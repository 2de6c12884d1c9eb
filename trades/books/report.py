"""The reports of SPEC 5: summary, period PnL, performance, reconciliation.

Units: amounts are base-currency Decimals (exact, 18 places). `return_pct`,
`win_rate` and `max_drawdown` are percents; `sharpe` and `sortino` are annualized
(√365: crypto trades every day) from daily time-weighted returns; ratios are
rounded to 8 places. A figure that cannot be computed (no losing trade for the
profit factor, fewer than two days for a Sharpe ratio…) is null.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, localcontext

from django.conf import settings

from accounts.models import Account
from core.amounts import AMOUNT_CONTEXT
from core.errors import TradebookError
from snapshots.models import EquitySnapshot, SnapshotSource, WalletSnapshot
from trades.books.cost import ZERO, Key, Share, Trips
from trades.books.rollup import HUNDRED, DayRow, day_rows
from trades.books.state import new_book
from trades.books.tally import stored as stored_tally
from trades.books.valuation import Converter, Valuation, valuation
from trades.models import PositionState

RATIO = Decimal("1e-8")
PERIODS = ("day", "week", "month")
PERFORMANCE_BY = ("symbol", "bot", "strategy")


def _ratio(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(RATIO, context=AMOUNT_CONTEXT)


# -- closed trades -------------------------------------------------------------------------------

@dataclass
class ClosedTrades:
    """What the reports use of the trades the bot closed: their round-trip statistics (a trade's
    computed pnl, else the reported one) and the sum of the PnL their bot reported."""

    rows: int = 0
    trips: Trips = field(default_factory=Trips)
    reported_count: int = 0
    reported_total: Decimal = ZERO


def closed_trades(account: Account) -> ClosedTrades:
    """The closed trades' statistics, from their tally (trades.books.tally): a few rows however
    many trades the account closed."""
    out = ClosedTrades()
    with localcontext(AMOUNT_CONTEXT):
        for tally in stored_tally(account).values():
            out.rows += tally.trades
            out.reported_count += tally.reported
            out.reported_total += tally.reported_pnl
            out.trips.count += tally.counted
            out.trips.wins += tally.wins
            out.trips.losses += tally.losses
            out.trips.won += tally.won
            out.trips.lost += tally.lost
    return out


def trade_stats(value: Valuation, closed: ClosedTrades) -> dict:
    """Win rate and the like over the bot's closed trades (their computed pnl, else the
    reported one) or, when the bot posts no trades, over the round trips of the fills."""
    if closed.rows:
        trips = closed.trips
        source = "trades"
    else:
        trips = value.trips
        source = "fills"
    with localcontext(AMOUNT_CONTEXT):
        n = trips.count
        return {
            "closed_trades": n,
            "closed_trades_source": source,
            "win_rate": _ratio(Decimal(trips.wins) / n * HUNDRED) if n else None,
            "profit_factor": _ratio(trips.won / -trips.lost) if trips.lost else None,
            "avg_win": _ratio(trips.won / trips.wins) if trips.wins else None,
            "avg_loss": _ratio(trips.lost / trips.losses) if trips.losses else None,
            "expectancy": _ratio((trips.won + trips.lost) / n) if n else None,
        }


# -- returns -------------------------------------------------------------------------------------

def chained_return(rows: list[DayRow]) -> Decimal | None:
    """Time-weighted return (percent) over these days: their returns chained."""
    if not rows:
        return None
    with localcontext(AMOUNT_CONTEXT):
        growth = Decimal(1)
        for r in rows:
            if r.return_pct is not None:
                growth *= 1 + r.return_pct / HUNDRED
        return _ratio((growth - 1) * HUNDRED)


def risk_ratios(rows: list[DayRow]) -> tuple[Decimal | None, Decimal | None]:
    """(Sharpe, Sortino), annualized, from the daily returns of closed days (risk-free 0)."""
    returns = [r.return_pct / HUNDRED for r in rows if not r.live and r.return_pct is not None]
    if len(returns) < 2:
        return None, None
    with localcontext(AMOUNT_CONTEXT):
        n = len(returns)
        mean = sum(returns, ZERO) / n
        variance = sum(((r - mean) ** 2 for r in returns), ZERO) / (n - 1)
        annual = Decimal(365).sqrt()
        sharpe = mean / variance.sqrt() * annual if variance > 0 else None
        downside = sum((min(r, ZERO) ** 2 for r in returns), ZERO) / n
        sortino = mean / downside.sqrt() * annual if downside > 0 else None
        return _ratio(sharpe), _ratio(sortino)


def max_drawdown(days: list[DayRow]) -> Decimal | None:
    """The largest fall, in percent of its peak, of the time-weighted return index: equity growth
    with cash flows taken out, so a withdrawal is not a loss and a deposit does not end a drawdown.
    Days are the account's days (day_rows), today included."""
    if not days:
        return None
    with localcontext(AMOUNT_CONTEXT):
        index = peak = Decimal(1)
        worst = ZERO
        for day in days:
            if day.return_pct is not None:
                index *= 1 + day.return_pct / HUNDRED
            if index > peak:
                peak = index
            if peak > 0:
                worst = max(worst, (peak - index) / peak)
        return _ratio(worst * HUNDRED)


# -- reconciliation ------------------------------------------------------------------------------

def reconciliation(account: Account, value: Valuation, closed: ClosedTrades | None = None) -> dict:
    """The bot-reported figures beside the computed ones; differences past
    settings.RECONCILE_TOLERANCE (absolute, base currency or quantity) are listed:
    reported trade (or fill) PnL against realized − fees of the closed part of the
    books, the newest reported equity snapshot's equity, cash and positions value (both
    sides the gross market value Σ |quantity| × mark), the base-currency wallet balance
    against cash, and each reported position size against the books. `checks` holds every
    comparison made, `differences` those past the tolerance."""
    tolerance = Decimal(str(settings.RECONCILE_TOLERANCE))
    checks: list[dict] = []

    def compare(field: str, computed: Decimal, reported: Decimal | None, **extra) -> None:
        if reported is None:
            return
        diff = computed - reported
        checks.append({"field": field, "symbol": extra.get("symbol"), "coin": extra.get("coin"),
                       "computed": computed, "reported": reported, "difference": diff,
                       "flagged": abs(diff) > tolerance})

    if closed is None:
        closed = closed_trades(account)
    reported_pnl = None
    if closed.reported_count or value.reported_fills:
        # A bot reports PnL per closed trade or per fill (an exchange's closed PnL), not both:
        # the trades win when there are any. Either way it is the PnL of what was closed, so it
        # is compared with the closed part of the books: the fees of positions still open are
        # not in it yet.
        reported_pnl = closed.reported_total if closed.reported_count else value.reported_pnl
        compare("pnl", value.realized_pnl - value.fees + value.open_trip_fees, reported_pnl)

    snap = (
        EquitySnapshot.objects.filter(account=account, source=SnapshotSource.REPORTED)
        .order_by("-exchange_ts", "-id").select_related("bot").first()
    )
    equity = None
    if snap is not None:
        equity = {"equity": snap.equity, "cash": snap.cash, "positions_value": snap.positions_value,
                  "at": snap.exchange_ts, "bot": snap.bot.key if snap.bot else None}
        compare("equity", value.equity, snap.equity)
        compare("cash", value.cash, snap.cash)
        compare("positions_value", value.positions_value, snap.positions_value)

    wallets = {}
    base = account.base_currency.upper()
    coins = WalletSnapshot.objects.filter(account=account).order_by("coin").values_list("coin", flat=True).distinct()
    for coin in coins:
        w = WalletSnapshot.objects.filter(account=account, coin=coin).order_by("-exchange_ts", "-id").first()
        wallets[coin] = {"wallet_balance": w.wallet_balance, "available_balance": w.available_balance,
                         "equity": w.equity, "at": w.exchange_ts}
        if coin.upper() == base:
            compare("wallet_balance", value.cash, w.wallet_balance, coin=coin)

    positions = {}
    for p in value.positions:
        if p.reported_size is not None:
            positions[p.symbol] = {"quantity": p.reported_size, "at": p.reported_at}
            compare("quantity", p.quantity, p.reported_size, symbol=p.symbol)

    differences = [{k: v for k, v in c.items() if k != "flagged" and (v is not None or k in ("computed",))}
                   for c in checks if c["flagged"]]
    return {"pnl": reported_pnl, "equity": equity, "wallets": wallets, "positions": positions,
            "tolerance": tolerance, "checks": checks, "differences": differences}


# -- summary -------------------------------------------------------------------------------------

def summary(*, account: Account, value: Valuation | None = None) -> dict:
    """Every figure of SPEC 5's summary (see the module docstring for units). `value`: the
    account's valuation when the caller has it already (the admin's account page draws from it too)."""
    value = value or valuation(account=account)
    days = day_rows(account, value=value)
    sharpe, sortino = risk_ratios(days)
    flags = [
        f"fees of {amount} {currency} not counted: no mark {currency}{value.base_currency.upper()}"
        for currency, amount in sorted(value.unconverted_fees.items())
    ] + [
        f"cash flows of {amount} {currency} not counted: no mark {currency}{value.base_currency.upper()}"
        for currency, amount in sorted(value.unconverted_cash_flows.items())
    ]
    out = {
        "account": account.slug,
        "base_currency": account.base_currency,
        "as_of": value.at,
        "equity": value.equity,
        "cash": value.cash,
        "realized_pnl": value.realized_pnl,
        "unrealized_pnl": value.unrealized_pnl,
        "fees": value.fees,
        "funding": value.funding,
        "net_pnl": value.net_pnl,
        "return_pct": chained_return(days),
        "open_positions": value.positions_count,
        "fills": value.fills,
    }
    closed = closed_trades(account)
    out.update(trade_stats(value, closed))
    out.update({
        "max_drawdown": max_drawdown(days),
        "sharpe": sharpe,
        "sortino": sortino,
        "marks": {s: {"price": p.price, "source": p.source, "at": p.at} for s, p in sorted(value.marks.items())},
        "fee_conversions": {c: {"symbol": f"{c}{value.base_currency.upper()}", "price": p.price, "source": p.source}
                            for c, p in sorted(value.fee_conversions.items())},
        "unconverted_fees": value.unconverted_fees,
        "flags": flags,
        "reported": reconciliation(account, value, closed),
    })
    return out


# -- period PnL ----------------------------------------------------------------------------------

def _period_start(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if period == "month":
        return day.replace(day=1)
    return day


def period_pnl(*, account: Account, period: str) -> list[dict]:
    """Realized, fees, funding, net, external cash flows, equity at the period's end and its
    time-weighted return, per day/week/month, oldest first (closed days from DailyPnl,
    today live)."""
    if period not in PERIODS:
        raise TradebookError(f"must be one of {', '.join(PERIODS)}", field="period")
    groups: dict[date, list[DayRow]] = {}
    for row in day_rows(account):
        groups.setdefault(_period_start(row.day, period), []).append(row)
    out = []
    with localcontext(AMOUNT_CONTEXT):
        for start, rows in groups.items():
            realized = sum((r.realized_pnl for r in rows), ZERO)
            fees = sum((r.fees for r in rows), ZERO)
            funding = sum((r.funding for r in rows), ZERO)
            out.append({
                "period": start,
                "end": rows[-1].day,
                "realized_pnl": realized,
                "fees": fees,
                "funding": funding,
                "net_pnl": realized - fees + funding,
                "cash_flows": sum((r.cash_flows for r in rows), ZERO),
                "equity": rows[-1].equity_end,
                "return_pct": chained_return(rows),
                "fills": sum(r.fills for r in rows),
                "complete": not rows[-1].live,
            })
    return out


# -- performance ---------------------------------------------------------------------------------

def performance(*, account: Account, by: str) -> list[dict]:
    """PnL broken down by symbol, bot (the fill's bot) or strategy (the strategy of the fill's
    trade). A fill's realized PnL and fees go to its own bot and strategy — the one that closed
    the position earns the closing PnL (trades.books.attribution keeps the sums). By bot or
    strategy, the closed trades of each key are counted beside: their number, PnL and win rate."""
    if by not in PERFORMANCE_BY:
        raise TradebookError(f"must be one of {', '.join(PERFORMANCE_BY)}", field="by")
    value = valuation(account=account)
    if by == "symbol":
        return [
            {"key": p.symbol, "realized_pnl": p.realized_pnl, "fees": p.fees, "net_pnl": p.realized_pnl - p.fees,
             "fills": p.fill_count, "unconverted_fees": p.unconverted_fees,
             "closed_trades": None, "trade_pnl": None, "win_rate": None,
             "unrealized_pnl": p.unrealized_pnl, "quantity": p.quantity}
            for p in value.positions if p.fill_count
        ]
    bot_keys = dict(account.bots.values_list("pk", "key"))
    shares = _account_shares(account)

    def key_of(bot_id: int, strategy: str) -> str | None:
        return (bot_keys.get(bot_id) if bot_id else None) if by == "bot" else (strategy or None)

    groups: dict[str | None, Share] = {}
    with localcontext(AMOUNT_CONTEXT):
        for (bot_id, strategy), share in shares.items():
            groups.setdefault(key_of(bot_id, strategy), Share()).add(share)
        trades = _closed_trades_by(account, key_of)
        converter = Converter(account, dict(value.marks))
        out = []
        for key in sorted(set(groups) | set(trades), key=lambda k: (k is None, k or "")):
            share = groups.get(key) or Share()
            converted, missing = converter.convert(share.other_fees)
            fees = share.fees + converted
            count, pnl, wins = trades.get(key, (0, ZERO, 0))
            out.append({
                "key": key, "realized_pnl": share.realized_pnl, "fees": fees, "net_pnl": share.realized_pnl - fees,
                "fills": share.fills, "unconverted_fees": missing,
                "closed_trades": count, "trade_pnl": pnl,
                "win_rate": _ratio(Decimal(wins) / count * HUNDRED) if count else None,
                "unrealized_pnl": None, "quantity": None,
            })
    return out


def _account_shares(account: Account) -> dict[Key, Share]:
    """What each (bot, strategy) earned over all the account's symbols."""
    total: dict[Key, Share] = {}
    with localcontext(AMOUNT_CONTEXT):
        for lots in PositionState.objects.filter(account=account).values_list("lots", flat=True):
            book = new_book(account)
            book.load_lots_json(lots)
            for key, share in book.shares.items():
                total.setdefault(key, Share()).add(share)
    return total


def _closed_trades_by(account: Account, key_of) -> dict[str | None, tuple[int, Decimal, int]]:
    """{key: (closed trades, Σ their PnL, winners)} from the tally, `key_of(bot_id, strategy)`."""
    out: dict[str | None, tuple[int, Decimal, int]] = {}
    with localcontext(AMOUNT_CONTEXT):
        for (bot_id, strategy), tally in stored_tally(account).items():
            key = key_of(bot_id, strategy)
            count, total, wins = out.get(key, (0, ZERO, 0))
            out[key] = (count + tally.trades, total + tally.won + tally.lost, wins + tally.wins)
    return out
