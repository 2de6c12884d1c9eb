"""The admin's home (SPEC 7): every account the person may see with its equity, net PnL of today,
7 and 30 days, time-weighted return, max drawdown, open positions and a small equity curve;
totals per base currency; the bots with their last post, fills today and today's PnL.

Figures come from the books (valuation, day_rows, and report's chained return and drawdown);
the 7- and 30-day PnL are the sums of the books' daily net PnL. Django's app list stays below.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from accounts.models import Bot
from accounts.scope import visible_accounts
from trades import books
from trades.admin import charts, display
from trades.books.report import chained_return, max_drawdown
from trades.models import Event, Fill, Trade

admin.site.site_header = "tradebook"
admin.site.site_title = "tradebook"
admin.site.index_title = "Accounts"
admin.site.site_url = None  # no public site: "View site" would lead to a 404
# The admin's left navigation repeats the app list and takes a fifth of a 1400 px screen from
# every changelist; the home page and the breadcrumbs lead everywhere it does.
admin.site.enable_nav_sidebar = False
SPARK_DAYS = 30
RECENT_EVENTS = 2000  # the newest journal rows read to find when each bot last posted


def _sum(rows) -> Decimal:
    return sum((r.net_pnl for r in rows), Decimal(0))


def account_rows(accounts, now: datetime) -> list[dict]:
    rows = []
    for account in accounts:
        value = books.valuation(account=account)
        days = books.day_rows(account, value=value)
        currency = account.base_currency
        spark = [(now if d.live else charts.day_end(d.day), d.equity_end) for d in days[-SPARK_DAYS:]
                 if d.equity_end is not None]
        today = days[-1].net_pnl if days else Decimal(0)
        month = _sum(days[-SPARK_DAYS:])
        rows.append({
            "account": account, "currency": currency, "equity": value.equity,
            "today": today, "week": _sum(days[-7:]), "month": month,
            "return_pct": chained_return(days), "max_drawdown": max_drawdown(days),
            "open_positions": value.positions_count, "fills": value.fills,
            "spark": charts.sparkline(spark, currency=currency, gain=month >= 0), "chart_id": f"spark-{account.pk}",
            "url": reverse("admin:accounts_account_page", args=[account.pk]),
        })
    return rows


def totals(rows: list[dict]) -> list[dict]:
    """Sums per base currency (an account's figures are in its own currency)."""
    out: dict[str, dict] = {}
    for row in rows:
        t = out.setdefault(row["currency"], {"currency": row["currency"], "accounts": 0, "equity": Decimal(0),
                                             "today": Decimal(0), "week": Decimal(0), "month": Decimal(0),
                                             "open_positions": 0})
        t["accounts"] += 1
        for key in ("equity", "today", "week", "month"):
            t[key] += row[key]
        t["open_positions"] += row["open_positions"]
    return [out[c] for c in sorted(out)]


def bot_rows(accounts: list, account_rows_: list[dict], now: datetime) -> list[dict]:
    ids = [a.pk for a in accounts]
    bots = list(Bot.objects.filter(account_id__in=ids).select_related("account").order_by("account__slug", "key"))
    if not bots:
        return []
    start = datetime.combine(now.astimezone(UTC).date(), datetime.min.time(), tzinfo=UTC)
    fills_today = dict(Fill.objects.filter(account_id__in=ids, executed_at__gte=start, voided_at__isnull=True)
                       .order_by().values_list("bot_id").annotate(n=Count("id")).values_list("bot_id", "n"))
    closed = defaultdict(lambda: [0, Decimal(0)])
    for bot_id, pnl, reported in (Trade.objects.filter(account_id__in=ids, status=Trade.Status.CLOSED,
                                                       exit_time__gte=start)
                                  .values_list("bot_id", "pnl", "reported_pnl")):
        closed[bot_id][0] += 1
        closed[bot_id][1] += pnl if pnl is not None else (reported or Decimal(0))
    # When each bot last posted: the newest journal rows of each account (by its time index), then
    # one look-up for a bot not among them.
    last: dict[int, datetime] = {}
    for account_id in ids:
        for bot_id, at in (Event.objects.filter(account_id=account_id).order_by("-received_at", "-id")
                           .values_list("bot_id", "received_at")[:RECENT_EVENTS]):
            if bot_id is not None and bot_id not in last:
                last[bot_id] = at
    per_account = defaultdict(int)
    for bot in bots:
        per_account[bot.account_id] += 1
    today_of = {row["account"].pk: row["today"] for row in account_rows_}
    out = []
    for bot in bots:
        at = last.get(bot.pk)
        if at is None:
            at = (Event.objects.filter(account_id=bot.account_id, bot=bot).order_by("-received_at")
                  .values_list("received_at", flat=True).first())
        sole = per_account[bot.account_id] == 1
        n_closed, closed_pnl = closed.get(bot.pk, (0, Decimal(0)))
        out.append({
            "bot": bot, "account": bot.account, "currency": bot.account.base_currency,
            "last_post": at, "last_post_age": display.age(at, now) if at else "never",
            "quiet": at is None or now - at > timedelta(hours=1),
            "fills_today": fills_today.get(bot.pk, 0),
            # The books keep a day's PnL per account, not per bot: a bot alone on its account has the
            # account's; beside several bots, the PnL of the trades it closed today is what is known.
            "today": today_of.get(bot.account_id) if sole else None,
            "closed_today": n_closed, "closed_pnl": closed_pnl,
            "fills_url": f"{reverse('admin:trades_fill_changelist')}?account__id__exact={bot.account_id}"
                         f"&bot__id__exact={bot.pk}",
        })
    return out


def board(request) -> dict:
    now = timezone.now()
    accounts = list(visible_accounts(request.user).filter(is_active=True).order_by("slug"))
    rows = account_rows(accounts, now)
    return {"rows": rows, "totals": totals(rows), "bots": bot_rows(accounts, rows, now), "now": now,
            "inactive": visible_accounts(request.user).filter(is_active=False).count()}
