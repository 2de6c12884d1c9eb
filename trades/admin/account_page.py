"""The admin's account page (SPEC 7): equity, drawdown, PnL by day/week/month and its calendar,
performance by symbol, bot and strategy, closed trades, open positions, balances, recent fills
and reconciliation — every figure from the books services (trades.books), nothing recomputed here;
the page only picks the days of the period shown and writes the figures for people."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.contrib import admin
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from accounts.scope import visible_accounts
from snapshots.models import EquitySnapshot, SnapshotSource
from trades import books
from trades.admin import charts, display
from trades.admin.ledger import r_multiple, trade_pnl, trade_return_pct
from trades.books.report import chained_return, max_drawdown
from trades.books.rollup import HUNDRED
from trades.books.valuation import EXTERNAL_KINDS
from trades.models import CashFlow, Fill, Trade

PERIODS = {"7d": ("7 days", 7), "30d": ("30 days", 30), "90d": ("90 days", 90), "1y": ("1 year", 365),
           "all": ("all", None)}
DEFAULT_PERIOD = "90d"
CLOSED_TRADES_SHOWN = 50
RECENT_FILLS = 25


def account_for(request, object_id) -> Account:
    account = visible_accounts(request.user).filter(pk=object_id).first() if str(object_id).isdigit() else None
    if account is None:
        raise Http404("No such account.")
    return account


def period_of(request) -> str:
    period = request.GET.get("period", DEFAULT_PERIOD)
    return period if period in PERIODS else DEFAULT_PERIOD


def days_in(days: list, period: str) -> list:
    """The account's days within the period (every day when 'all')."""
    n = PERIODS[period][1]
    return days if n is None else days[-n:]


def drawdown_points(days: list) -> list[tuple[date, Decimal]]:
    """Percent below the running peak of the time-weighted index: the days' returns chained
    (1 + return_pct/100), so a deposit or withdrawal moves no point."""
    points, index, peak = [], Decimal(1), Decimal(1)
    for day in days:
        if day.return_pct is not None:
            index *= 1 + day.return_pct / HUNDRED
        peak = max(peak, index)
        points.append((day.day, (index / peak - 1) * HUNDRED if peak > 0 else Decimal(0)))
    return points


def reported_equity(account: Account, since: datetime | None) -> dict[str, list[tuple[datetime, Decimal]]]:
    qs = EquitySnapshot.objects.filter(account=account, source=SnapshotSource.REPORTED)
    if since is not None:
        qs = qs.filter(exchange_ts__gte=since)
    by_bot: dict[str, list] = {}
    keys = dict(account.bots.values_list("pk", "key"))
    for at, equity, bot_id in qs.order_by("exchange_ts").values_list("exchange_ts", "equity", "bot_id"):
        by_bot.setdefault(keys.get(bot_id, ""), []).append((at, equity))
    return {bot: charts.downsample(points) for bot, points in by_bot.items()}


def figure_tiles(summary: dict, shown: list, period: str, currency: str) -> list[dict]:
    """The tiles at the top: (label, text, tone, hint)."""
    period_label = PERIODS[period][0]
    period_net = sum((r.net_pnl for r in shown), Decimal(0))
    period_return = chained_return(shown)
    period_dd = max_drawdown(shown)

    def tile(label, text, value=None, hint=""):
        return {"label": label, "text": text, "tone": display.tone(value) if value is not None else "", "hint": hint}

    s = summary
    return [
        tile("Equity", display.money(s["equity"], currency), hint="cash + unrealized PnL, at the newest marks"),
        tile("Net PnL (all time)", display.money(s["net_pnl"], currency, signed=True), s["net_pnl"],
             "realized − fees + funding"),
        tile(f"Net PnL ({period_label})", display.money(period_net, currency, signed=True), period_net),
        tile("Return (all time)", display.percent(s["return_pct"], signed=True), s["return_pct"],
             "time-weighted: deposits and withdrawals are not profit"),
        tile(f"Return ({period_label})", display.percent(period_return, signed=True), period_return),
        tile("Max drawdown (all time)", display.percent(s["max_drawdown"]),
             -s["max_drawdown"] if s["max_drawdown"] else None, "on the time-weighted index"),
        tile(f"Max drawdown ({period_label})", display.percent(period_dd), -period_dd if period_dd else None),
        tile("Unrealized PnL", display.money(s["unrealized_pnl"], currency, signed=True), s["unrealized_pnl"]),
        tile("Realized PnL", display.money(s["realized_pnl"], currency, signed=True), s["realized_pnl"],
             "gross: price differences only"),
        tile("Fees", display.money(s["fees"], currency)),
        tile("Funding", display.money(s["funding"], currency, signed=True), s["funding"]),
        tile("Cash", display.money(s["cash"], currency)),
        tile("Open positions", display.count(s["open_positions"])),
        tile("Fills", display.count(s["fills"])),
        tile("Closed trades", display.count(s["closed_trades"]),
             hint="closed by the bot" if s.get("closed_trades_source") == "trades" else "round trips of the fills"),
        tile("Win rate", display.percent(s["win_rate"])),
        tile("Profit factor", display.ratio(s["profit_factor"]), hint="gross wins ÷ gross losses"),
        tile("Average win", display.money(s["avg_win"], currency, signed=True), s["avg_win"]),
        tile("Average loss", display.money(s["avg_loss"], currency, signed=True), s["avg_loss"]),
        tile("Expectancy", display.money(s["expectancy"], currency, signed=True), s["expectancy"],
             "average PnL per closed trade"),
        tile("Sharpe", display.ratio(s["sharpe"]), hint="daily returns, annualized (√365)"),
        tile("Sortino", display.ratio(s["sortino"]), hint="daily returns, annualized (√365)"),
    ]


def reconciliation_rows(summary: dict, currency: str) -> list[dict]:
    """Every check the books made: what, reported, computed, difference."""
    rows = []
    labels = {"pnl": "PnL of closed trades (realized − fees)", "equity": "equity", "cash": "cash",
              "positions_value": "value of open positions", "wallet_balance": "wallet balance",
              "quantity": "position size"}
    for check in (summary.get("reported") or {}).get("checks") or []:
        field = check["field"]
        what = labels.get(field, field.replace("_", " "))
        if check.get("symbol"):
            what += f" · {check['symbol']}"
        if check.get("coin"):
            what += f" · {check['coin']}"
        write = display.number if field == "quantity" else (lambda v: display.money(v, currency))
        rows.append({"what": what, "reported": write(check["reported"]), "computed": write(check["computed"]),
                     "difference": write(check["difference"]), "flagged": check["flagged"],
                     "tone": display.tone(check["difference"]) if check["flagged"] else ""})
    return rows


def performance_rows(account: Account, by: str, currency: str) -> list[dict]:
    rows = []
    for r in books.performance(account=account, by=by):
        rows.append({
            "key": r["key"] or ("(no bot)" if by == "bot" else "(no strategy)" if by == "strategy" else ""),
            "net": r["net_pnl"], "realized": r["realized_pnl"], "fees": r["fees"], "fills": r["fills"],
            "unrealized": r["unrealized_pnl"], "quantity": r["quantity"], "closed": r["closed_trades"],
            "trade_pnl": r["trade_pnl"], "win_rate": r["win_rate"],
            "unconverted": ", ".join(f"{display.number(a)} {c}" for c, a in sorted((r["unconverted_fees"] or {}).items())),
        })
    rows.sort(key=lambda r: r["net"], reverse=True)
    return rows


def closed_trades(account: Account, since: datetime | None) -> list[dict]:
    qs = Trade.objects.filter(account=account, status=Trade.Status.CLOSED)
    if since is not None:
        qs = qs.filter(exit_time__gte=since)
    out = []
    for t in qs.select_related("bot").order_by("-exit_time", "-id")[:CLOSED_TRADES_SHOWN]:
        t.account = account
        out.append({"trade": t, "pnl": trade_pnl(t), "return_pct": trade_return_pct(t), "r": r_multiple(t),
                    "held": t.exit_time - t.entry_time,
                    "url": reverse("admin:trades_trade_change", args=[t.pk])})
    return out


def open_positions(value, summary: dict, now: datetime) -> list[dict]:
    marks = summary.get("marks") or {}
    out = []
    for p in value.positions:
        if p.quantity == 0:
            continue
        mark_at = (marks.get(p.symbol) or {}).get("at")
        out.append({"p": p, "side": "long" if p.quantity > 0 else "short", "mark_at": mark_at,
                    "mark_age": display.age(mark_at, now) if mark_at else display.EMPTY,
                    "stale": mark_at is not None and now - mark_at > timedelta(hours=1)})
    return out


def account_page(request, object_id):
    account = account_for(request, object_id)
    period = period_of(request)
    currency = account.base_currency
    now = timezone.now()
    value = books.valuation(account=account)
    summary = books.summary(account=account, value=value)
    days = books.day_rows(account, value=value)
    shown = days_in(days, period)
    since = None if PERIODS[period][1] is None or not shown else datetime.combine(shown[0].day, datetime.min.time(),
                                                                                    tzinfo=UTC)
    flows = [(ts, kind, amount) for ts, kind, amount in
             CashFlow.objects.filter(account=account, kind__in=EXTERNAL_KINDS, **({"ts__gte": since} if since else {}))
             .order_by("ts").values_list("ts", "kind", "amount")[:500]]
    equity_at = {r.day: r.equity_end for r in shown if r.equity_end is not None}
    context = {
        **admin.site.each_context(request),
        "title": f"{account.name}",
        "account": account,
        "currency": currency,
        "opts": account._meta,
        "now": now,
        "period": period,
        "periods": [(key, label) for key, (label, _) in PERIODS.items()],
        "summary": summary,
        "tiles": figure_tiles(summary, shown, period, currency),
        "flags": summary.get("flags") or [],
        "charts": {
            "equity": charts.equity_chart(days=shown, now_equity=summary["equity"], now=now, currency=currency,
                                          reported=reported_equity(account, since), flows=flows,
                                          equity_at=equity_at),
            "drawdown": charts.drawdown_chart(drawdown_points(shown)),
            "pnl_day": charts.pnl_bars([(r.day, r.net_pnl, r.day.isoformat()) for r in shown], currency=currency,
                                       title=f"Net PnL by day ({currency})"),
            "calendar": charts.calendar_heatmap([(r.day, r.net_pnl) for r in shown], currency=currency),
        },
        "performance_by": PERFORMANCE_BY,
        "closed_trades": closed_trades(account, since),
        "positions": open_positions(value, summary, now),
        "balances": sorted((summary.get("reported") or {}).get("wallets", {}).items()),
        "fills": Fill.objects.filter(account=account).select_related("bot", "account")[:RECENT_FILLS],
        "reconciliation": reconciliation_rows(summary, currency),
        "tolerance": (summary.get("reported") or {}).get("tolerance"),
        "trades_url": f"{reverse('admin:trades_trade_changelist')}?account__id__exact={account.pk}&status__exact=closed",
        "fills_url": f"{reverse('admin:trades_fill_changelist')}?account__id__exact={account.pk}",
    }
    return render(request, "admin/tradebook/account_page.html", context)


PERFORMANCE_BY = ("symbol", "bot", "strategy")
PNL_PERIODS = {"week": "week of", "month": "month"}


def account_part(request, object_id, part: str):
    """What the page loads when a person asks for it (a tab, a toggle): performance by symbol, bot
    or strategy, net PnL by week or month. Each is one books call: the page does not pay for the
    views nobody opened."""
    account = account_for(request, object_id)
    currency = account.base_currency
    if part == "performance":
        by = request.GET.get("by", "")
        if by not in PERFORMANCE_BY:
            raise Http404("by must be symbol, bot or strategy.")
        html = render_to_string("admin/tradebook/performance.html",
                                {"by": by, "rows": performance_rows(account, by, currency), "currency": currency},
                                request=request)
        return JsonResponse({"html": html})
    if part == "pnl":
        name = request.GET.get("by", "")
        if name not in PNL_PERIODS:
            raise Http404("by must be week or month.")
        period = period_of(request)
        n = PERIODS[period][1]
        first_day = None if n is None else timezone.now().astimezone(UTC).date() - timedelta(days=n - 1)
        rows = [row for row in books.period_pnl(account=account, period=name)
                if first_day is None or row["end"] >= first_day]
        label = PNL_PERIODS[name]
        spec = charts.pnl_bars(
            [(row["period"], row["net_pnl"],
              f"{label} {row['period'].isoformat() if name == 'week' else row['period'].strftime('%Y-%m')}")
             for row in rows],
            currency=currency, title=f"Net PnL by {name} ({currency})")
        return JsonResponse({"spec": spec})
    raise Http404("No such part of the account page.")
