"""The admin's account page: equity curve, daily PnL, drawdown, open positions,
newest balances, recent fills and reconciliation warnings — all from the books
services, nothing recomputed here."""

from datetime import UTC, datetime, time
from decimal import Decimal

from django.contrib import admin
from django.http import Http404
from django.shortcuts import render

from accounts.scope import visible_accounts
from snapshots.models import WalletSnapshot
from trades import books
from trades.admin import charts
from trades.models import Fill

CURVE_DAYS = 90


def _display(value):
    """Figures on the page are read, not booked: two decimals (the API keeps every digit)."""
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return value


def account_page(request, object_id):
    account = visible_accounts(request.user).filter(pk=object_id).first()
    if account is None:
        raise Http404("No such account.")
    days = books.day_rows(account)[-CURVE_DAYS:]
    curve = [(datetime.combine(d.day, time.max, tzinfo=UTC), d.equity_end) for d in days if d.equity_end is not None]
    daily = [(d.day, d.net_pnl) for d in days]
    balances, seen = [], set()
    for row in WalletSnapshot.objects.filter(account=account).order_by("coin", "-exchange_ts")[:500]:
        if row.coin not in seen:
            seen.add(row.coin)
            balances.append(row)
    summary = books.summary(account=account)
    context = {
        **admin.site.each_context(request),
        "title": f"{account.name} ({account.slug})",
        "account": account,
        "opts": account._meta,
        "summary": summary,
        "positions": [p for p in books.positions(account=account) if p.quantity != 0],
        "balances": balances,
        "fills": Fill.objects.filter(account=account).select_related("bot")[:25],
        "warnings": (summary.get("reported") or {}).get("differences") or [],
        "equity_chart": charts.line_chart(curve, title="Equity (from the books, end of each day)", fill=True),
        "drawdown_chart": charts.line_chart(charts.drawdown_series(curve), title="Drawdown (%)", color="#c53030"),
        "daily_chart": charts.bar_chart(daily, title="Daily net PnL"),
        "figures": [(key, _display(summary.get(key))) for key in (
            "equity", "cash", "realized_pnl", "unrealized_pnl", "fees", "funding", "net_pnl", "return_pct",
            "open_positions", "fills", "closed_trades", "win_rate", "profit_factor", "max_drawdown", "sharpe",
            "sortino")],
    }
    return render(request, "admin/accounts/account/page.html", context)
