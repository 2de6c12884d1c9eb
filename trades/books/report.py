"""The reports of SPEC 5: summary, period PnL, performance, reconciliation.

Units: amounts are base-currency Decimals (exact, 18 places). `return_pct`,
`win_rate` and `max_drawdown` are percents; `sharpe` and `sortino` are annualized
(√365: crypto trades every day) from daily time-weighted returns; ratios are
rounded to 8 places. A figure that cannot be computed (no losing trade for the
profit factor, fewer than two days for a Sharpe ratio…) is null.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, localcontext

from django.conf import settings
from django.db import connection
from django.db.models import Min

from accounts.models import Account
from core.amounts import AMOUNT_CONTEXT, q18
from core.errors import TradebookError
from core.sql.statements import run_prepared
from snapshots.models import EquitySnapshot, SnapshotSource, WalletSnapshot
from trades.books.cost import ZERO, Trips, fill_fees
from trades.books.fills import fill_rows
from trades.books.rollup import HUNDRED, DayRow, day_rows
from trades.books.state import new_book
from trades.books.valuation import Converter, Valuation, valuation
from trades.models import Fill, Trade

RATIO = Decimal("1e-8")
PERIODS = ("day", "week", "month")
PERFORMANCE_BY = ("symbol", "bot", "strategy")


def _ratio(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(RATIO, context=AMOUNT_CONTEXT)


# -- closed trades -------------------------------------------------------------------------------

def closed_trades(account: Account) -> list[tuple[Decimal | None, Decimal | None]]:
    """(pnl, reported_pnl) of the trades the bot closed."""
    return list(Trade.objects.filter(account=account, status=Trade.Status.CLOSED).values_list("pnl", "reported_pnl"))


def trade_stats(value: Valuation, closed: list[tuple]) -> dict:
    """Win rate and the like over the bot's closed trades (their computed pnl, else the
    reported one) or, when the bot posts no trades, over the round trips of the fills."""
    if closed:
        trips = Trips()
        for pnl, reported in closed:
            pnl = pnl if pnl is not None else reported
            if pnl is not None:
                trips.current = pnl
                trips.close(None)
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


def equity_curve_source(account: Account) -> str | None:
    """Which equity snapshots make the account's curve: the series with the longer history.

    Computed snapshots start when tradebook first snapshots the account; an account
    imported with years of reported equity would otherwise show only the last minutes.
    On a tie the computed series wins (it is per account, not per bot).
    """
    starts = dict(
        EquitySnapshot.objects.filter(account=account).values_list("source").annotate(start=Min("exchange_ts"))
    )
    if not starts:
        return None
    computed, reported = starts.get(SnapshotSource.COMPUTED), starts.get(SnapshotSource.REPORTED)
    if computed is not None and (reported is None or computed <= reported):
        return SnapshotSource.COMPUTED
    return SnapshotSource.REPORTED


def max_drawdown(account: Account) -> Decimal | None:
    """Largest peak-to-trough fall of equity (percent of the peak), along the equity
    snapshots of `equity_curve_source`."""
    source = equity_curve_source(account)
    if source is None:
        return None
    snapshots = EquitySnapshot.objects.filter(account=account)
    if connection.vendor == "postgresql":
        # numeric is exact in SQL: a year of minute snapshots never leaves the database.
        # Ordered by time alone so the (account, source, exchange_ts) index feeds the window.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT MAX((peak - equity) / NULLIF(peak, 0)) FROM (SELECT equity, MAX(equity) "
                f"OVER (ORDER BY exchange_ts) AS peak FROM {EquitySnapshot._meta.db_table} "
                f"WHERE account_id = %s AND source = %s) AS curve",
                [account.pk, source],
            )
            (worst,) = cursor.fetchone()
        return _ratio(max(worst or ZERO, ZERO) * HUNDRED)
    # SQLite keeps amounts as text: ordered by time in SQL, compared in Python.
    equities = snapshots.filter(source=source).order_by("exchange_ts", "id").values_list("equity", flat=True)
    with localcontext(AMOUNT_CONTEXT):
        peak, worst = None, ZERO
        for e in equities.iterator(chunk_size=10000):
            if peak is None or e > peak:
                peak = e
            if peak > 0:
                worst = max(worst, (peak - e) / peak)
        return _ratio(worst * HUNDRED)


# -- reconciliation ------------------------------------------------------------------------------

def reconciliation(account: Account, value: Valuation, closed: list[tuple] | None = None) -> dict:
    """The bot-reported figures beside the computed ones; differences past
    settings.RECONCILE_TOLERANCE (absolute, base currency or quantity) are listed:
    reported trade (or fill) PnL against realized − fees of the closed part of the
    books, the newest reported equity, the base-currency
    wallet balance against cash, and each reported position size against the books."""
    tolerance = Decimal(str(settings.RECONCILE_TOLERANCE))
    differences: list[dict] = []

    def compare(field: str, computed: Decimal, reported: Decimal | None, **extra) -> None:
        if reported is None:
            return
        diff = computed - reported
        if abs(diff) > tolerance:
            differences.append({"field": field, **extra, "computed": computed, "reported": reported,
                                "difference": diff})

    if closed is None:
        closed = closed_trades(account)
    reported_pnl = None
    by_trade = [reported for _pnl, reported in closed if reported is not None]
    if by_trade or value.reported_fills:
        # A bot reports PnL per closed trade or per fill (an exchange's closed PnL), not both:
        # the trades win when there are any. Either way it is the PnL of what was closed, so it
        # is compared with the closed part of the books: the fees of positions still open are
        # not in it yet.
        reported_pnl = sum(by_trade, ZERO) if by_trade else value.reported_pnl
        compare("pnl", value.realized_pnl - value.fees + value.open_trip_fees, reported_pnl)

    snap = (
        EquitySnapshot.objects.filter(account=account, source=SnapshotSource.REPORTED)
        .order_by("-exchange_ts", "-id").select_related("bot").first()
    )
    equity = None
    if snap is not None:
        equity = {"equity": snap.equity, "cash": snap.cash, "at": snap.exchange_ts,
                  "bot": snap.bot.key if snap.bot else None}
        compare("equity", value.equity, snap.equity)

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

    return {"pnl": reported_pnl, "equity": equity, "wallets": wallets, "positions": positions,
            "tolerance": tolerance, "differences": differences}


# -- summary -------------------------------------------------------------------------------------

def summary(*, account: Account) -> dict:
    """Every figure of SPEC 5's summary (see the module docstring for units)."""
    value = valuation(account=account)
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
        "max_drawdown": max_drawdown(account),
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
    """PnL broken down by symbol, bot (the fill's bot) or strategy (the strategy of the
    fill's trade). A fill's realized PnL and fees go to its own bot/strategy — the one
    that closed the position earns the closing PnL."""
    if by not in PERFORMANCE_BY:
        raise TradebookError(f"must be one of {', '.join(PERFORMANCE_BY)}", field="by")
    value = valuation(account=account)
    if by == "symbol":
        return [
            {"key": p.symbol, "realized_pnl": p.realized_pnl, "fees": p.fees, "net_pnl": p.realized_pnl - p.fees,
             "unrealized_pnl": p.unrealized_pnl, "quantity": p.quantity, "fills": p.fill_count,
             "unconverted_fees": p.unconverted_fees}
            for p in value.positions if p.fill_count
        ]
    base = account.base_currency.upper()
    # The fill column a key comes from, and the key of each of its values.
    if by == "bot":
        column, key_of = "bot_id", dict(account.bots.values_list("pk", "key")).get
    else:
        strategies = dict(Trade.objects.filter(account=account).values_list("external_id", "strategy"))
        column, key_of = "trade_id", lambda trade_id: strategies.get(trade_id) or None
    groups: dict = {}

    def group(key):
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"realized_pnl": ZERO, "fees": ZERO, "other_fees": {}, "fills": 0, "volume": ZERO,
                               "closed_trades": 0, "wins": 0, "trade_pnl": ZERO}
        return g

    # A symbol whose every fill has one key is credited whole from its PositionState (the same
    # engine's totals); only symbols several keys share are replayed fill by fill.
    whole = _single_key_symbols(account, column, key_of)
    with localcontext(AMOUNT_CONTEXT):
        for p in value.positions:
            if p.symbol in whole:
                key, fills, volume = whole[p.symbol]
                g = group(key)
                g["realized_pnl"] += p.realized_pnl
                g["fees"] += p.fees
                for currency, amount in p.unconverted_fees.items():
                    g["other_fees"][currency] = g["other_fees"].get(currency, ZERO) + amount
                g["fills"] += fills
                g["volume"] += volume
    shared = sorted({p.symbol for p in value.positions if p.fill_count} - set(whole)) if whole else None
    if shared == []:
        rows = iter(())
    else:  # without reported_pnl
        rows = (r[:9] + r[10:] for r in fill_rows(account, shared, attribution=True))

    def attribute(book, batch) -> None:
        """Book one symbol's batch through the engine, then credit each fill's realized PnL
        and fees to its key."""
        realized: list = []
        book.run([(pk, side, price, quantity, fees, None, None) for pk, side, price, quantity, fees, _k in batch],
                 realized)
        for (_pk, _side, price, quantity, fees, key), pnl in zip(batch, realized, strict=True):
            g = group(key)
            g["realized_pnl"] += pnl
            for amount, currency in fees:
                if currency == base:
                    g["fees"] += amount
                else:
                    g["other_fees"][currency] = g["other_fees"].get(currency, ZERO) + amount
            g["fills"] += 1
            g["volume"] += price * quantity  # exact (80 digits); rounded once at the end

    with localcontext(AMOUNT_CONTEXT):
        current, book, batch = None, None, []
        for symbol, pk, side, price, quantity, fee, fee_currency, other_fees, _at, bot_id, trade_id in rows:
            if symbol != current or len(batch) >= 20000:
                if batch:
                    attribute(book, batch)
                if symbol != current:
                    current, book = symbol, new_book(account)
                batch = []
            key = key_of(bot_id if by == "bot" else trade_id)
            batch.append((pk, side, price, quantity, fill_fees(fee, fee_currency, other_fees, base), key))
        if batch:
            attribute(book, batch)
        closed = Trade.objects.filter(account=account, status=Trade.Status.CLOSED).values_list(
            "bot__key" if by == "bot" else "strategy", "pnl", "reported_pnl"
        )
        for key, pnl, reported in closed:
            pnl = pnl if pnl is not None else reported
            g = group(key or None)
            g["closed_trades"] += 1
            if pnl is not None:
                g["trade_pnl"] += pnl
                g["wins"] += pnl > 0
        converter = Converter(account, dict(value.marks))
        out = []
        for key in sorted(groups, key=lambda k: (k is None, k or "")):
            g = groups[key]
            converted, missing = converter.convert(g.pop("other_fees"))
            g["fees"] += converted
            n = g["closed_trades"]
            out.append({
                "key": key, "realized_pnl": g["realized_pnl"], "fees": g["fees"],
                "net_pnl": g["realized_pnl"] - g["fees"], "fills": g["fills"], "volume": q18(g["volume"]),
                "unconverted_fees": missing, "closed_trades": n, "trade_pnl": g["trade_pnl"],
                "win_rate": _ratio(Decimal(g["wins"]) / n * HUNDRED) if n else None,
            })
    return out


def _single_key_symbols(account: Account, column: str, key_of) -> dict[str, tuple]:
    """{symbol: (key, fills, volume)} for every symbol all of whose non-void fills have one key
    (`key_of(value of column)`): one GROUP BY in the database in place of replaying each fill.

    PostgreSQL only: it sums price × quantity exactly in numeric. SQLite keeps amounts as text,
    so there the answer is {} and every symbol is replayed."""
    if connection.vendor != "postgresql":
        return {}
    quote = connection.ops.quote_name
    sql = (f"SELECT {quote('symbol')}, {quote(column)}, COUNT(*), SUM({quote('price')} * {quote('quantity')}) "
           f"FROM {quote(Fill._meta.db_table)} WHERE {quote('account_id')} = %s AND {quote('voided_at')} IS NULL "
           f"GROUP BY 1, 2")
    found: dict[str, tuple] = {}
    shared: set[str] = set()
    with localcontext(AMOUNT_CONTEXT):  # exact sums: the default context keeps 28 digits
        for symbol, value, fills, volume in run_prepared(sql, [account.pk]):
            key = key_of(value)
            seen = found.get(symbol)
            if seen is None:
                found[symbol] = (key, fills, volume)
            elif seen[0] == key:
                found[symbol] = (key, seen[1] + fills, seen[2] + volume)
            else:
                shared.add(symbol)
    return {symbol: entry for symbol, entry in found.items() if symbol not in shared}
