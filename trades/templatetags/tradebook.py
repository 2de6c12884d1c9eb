"""Template filters of the admin: the display rule of trades.admin.display, for templates.

    {% load tradebook %}
    {{ summary.equity|money:account.base_currency }}   1,234.56 USDT
    {{ row.net_pnl|signed_money:"USDT" }}               +12.30 USDT, coloured
    {{ position.mark_price|number }}                   61,980.9
    {{ summary.return_pct|pct }}                       -6.07%
    {{ fill.executed_at|utc }}                         2026-01-03 14:22:05 UTC
"""

from django import template

from trades.admin import display

register = template.Library()


@register.filter
def money(value, currency=""):
    return display.num(display.money(value, currency))


@register.filter
def signed_money(value, currency=""):
    """Money coloured green or red by its sign, with '+' on gains."""
    return display.toned(display.money(value, currency, signed=True), value)


@register.filter
def number(value):
    return display.num(display.number(value))


@register.filter
def pct(value):
    return display.num(display.percent(value))


@register.filter
def signed_pct(value):
    return display.toned(display.percent(value, signed=True), value)


@register.filter
def ratio(value):
    return display.num(display.ratio(value))


@register.filter
def count(value):
    return display.num(display.count(value))


@register.filter
def tone(value):
    return display.tone(value)


@register.filter
def utc(value):
    return display.when(value)


@register.filter
def utc_minutes(value):
    return display.when(value, seconds=False)


@register.filter
def duration(value):
    return display.duration(value)


@register.inclusion_tag("admin/tradebook/home.html", takes_context=True)
def tradebook_home(context):
    """The dashboard at the top of the admin's index (trades.admin.home)."""
    from trades.admin.home import board

    return {**board(context["request"]), "request": context["request"]}


@register.filter
def get(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def fill_fee(fill):
    """A fill's fee in its currency: money when that is the account's currency, else a quantity."""
    return display.num(display.amount(fill.fee, fill.fee_currency, fill.account.base_currency))
