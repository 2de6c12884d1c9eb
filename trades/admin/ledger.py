"""The ledger in the admin: fills, orders, trades, signals, cash flows, the journal and the books'
own rows — read-only, linked exactly (an order → its fills → their trade), written for people."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import admin
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from trades.admin import display
from trades.admin.tenant import (
    AccountFilter,
    BotFilter,
    LedgerAdmin,
    SymbolFilter,
    period_filter,
    pretty_json,
)
from trades.models import CashFlow, DailyPnl, Event, Fill, Order, PositionState, Signal, Trade

SHORT_ID = 16


def short_id(text: str) -> str:
    """A long id cut in the middle: its start and its end (where ids carry their number) stay."""
    return text if len(text) <= SHORT_ID else f"{text[:5]}…{text[-(SHORT_ID - 6):]}"


def _short(text: str, url: str | None = None, *, whole: bool = False) -> str:
    """A long id cut to the column's width (whole on hover), or `whole` on a row's page."""
    shown = text if whole else short_id(text)
    if url is None:
        return format_html('<span class="tb-id" title="{}">{}</span>', text, shown)
    return format_html('<a href="{}" title="{}">{}</a>' if whole else '<a class="tb-id" href="{}" title="{}">{}</a>',
                       url, text, shown)


def fills_url(account_id: int, **exact) -> str:
    """The fills changelist filtered exactly (account and id equality: never a substring search)."""
    query = "&".join(f"{k}__exact={v}" for k, v in exact.items())
    return f"{reverse('admin:trades_fill_changelist')}?account__id__exact={account_id}&{query}"


def key_url(model: str, account_id: int, key: str) -> str:
    """The page of an order or trade named by its key (resolved on click: no query per listed row)."""
    return reverse(f"admin:trades_{model}_key", args=[account_id, key])


def _side(obj) -> str:
    css = "tb-gain" if obj.side in ("buy", "long") else "tb-loss"
    return format_html('<span class="{}">{}</span>', css, obj.side)


class KeyedAdmin(LedgerAdmin):
    """Rows with a key per account (external_id): `key/<account>/<key>/` opens the row's page."""

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        by_key = path("key/<int:account_id>/<path:key>/", self.admin_site.admin_view(self.by_key),
                      name=f"{info[0]}_{info[1]}_key")
        return [by_key, *super().get_urls()]

    def by_key(self, request, account_id: int, key: str):
        row = self.get_queryset(request).filter(account_id=account_id, external_id=key).values_list("pk", flat=True)
        pk = row.first()
        if pk is None:
            raise Http404(f"No {self.opts.verbose_name} {key!r} in this account.")
        info = self.opts.app_label, self.opts.model_name
        return HttpResponseRedirect(reverse(f"admin:{info[0]}_{info[1]}_change", args=[pk]))

    def get_search_results(self, request, queryset, search_term):
        """Search by ids, exactly: a substring search over millions of rows reads every row, and
        finds trade 30 when asked for trade 3."""
        term = search_term.strip()
        if not term:
            return queryset, False
        match = Q()
        for name in self.search_fields:
            match |= Q(**{name: term.upper() if name == "symbol" else term})
        return queryset.filter(match), False


@admin.register(Fill)
class FillAdmin(KeyedAdmin):
    # Secondary columns (order, source, maker, received) are on the fill's page: the list fits 1400 px.
    list_display = ["executed_at", "account", "symbol", "side_shown", "quantity", "price", "fee_shown", "bot_shown",
                    "trade_link"]
    list_filter = [AccountFilter, "side", SymbolFilter, BotFilter, period_filter("executed_at", "executed"),
                   "source", ("voided_at", admin.EmptyFieldListFilter)]
    search_fields = ["external_id", "order_id", "trade_id", "symbol"]
    search_help_text = "An exact id (fill, order or trade) or a symbol."
    list_select_related = ["account", "bot"]
    currency_fields = {"fee": "fee_currency"}
    fieldsets = [
        (None, {"fields": ["account", "bot", "external_id", "symbol", "side", "quantity", "price", "notional",
                           "fee", "fee_currency", "other_fees", "is_maker", "executed_at", "reason", "source"]}),
        ("Links", {"fields": ["order_page", "trade_page", "trade_fills"]}),
        ("Reported and received", {"fields": ["reported_pnl", "received_at", "voided_at", "void_reason", "meta"]}),
    ]

    def get_search_results(self, request, queryset, search_term):
        """A fill, order or trade id, or a symbol — each matched through an index that starts with
        the account: a fill's id is unique with its account and symbol, so it is looked up under
        each symbol the account holds."""
        term = search_term.strip()
        if not term:
            return queryset, False
        accounts = self.visible_account_ids(request)
        symbols = list(PositionState.objects.filter(account_id__in=accounts).values_list("symbol", flat=True)
                       .distinct())
        match = Q(trade_id=term) | Q(order_id=term) | Q(symbol__in=symbols, external_id=term) | Q(symbol=term.upper())
        return queryset.filter(match, account_id__in=accounts), False

    @admin.display(description="side", ordering="side")
    def side_shown(self, obj):
        if obj.voided_at is not None:
            return format_html('<s title="void: {}">{}</s> <span class="tb-badge">void</span>', obj.void_reason,
                               obj.side)
        return _side(obj)

    @admin.display(description="fee")
    def fee_shown(self, obj):
        if not obj.fee and not obj.other_fees:
            return display.num("0")
        parts = [display.amount(obj.fee, obj.fee_currency, obj.account.base_currency)]
        for extra in obj.other_fees or []:
            if isinstance(extra, dict):
                parts.append(display.amount(extra.get("amount"), str(extra.get("currency", "")),
                                            obj.account.base_currency))
        return display.num(" + ".join(parts))

    @admin.display(description="bot", ordering="bot__key")
    def bot_shown(self, obj):
        return _short(obj.bot.key) if obj.bot_id else display.EMPTY

    @admin.display(description="notional")
    def notional(self, obj):
        return display.money(obj.price * obj.quantity, obj.account.base_currency)

    @admin.display(description="order")
    def order_link(self, obj):
        return _short(obj.order_id, key_url("order", obj.account_id, obj.order_id)) if obj.order_id else ""

    @admin.display(description="trade")
    def trade_link(self, obj):
        return _short(obj.trade_id, key_url("trade", obj.account_id, obj.trade_id)) if obj.trade_id else ""

    @admin.display(description="order")
    def order_page(self, obj):
        return _short(obj.order_id, key_url("order", obj.account_id, obj.order_id), whole=True) if obj.order_id else ""

    @admin.display(description="trade")
    def trade_page(self, obj):
        return _short(obj.trade_id, key_url("trade", obj.account_id, obj.trade_id), whole=True) if obj.trade_id else ""

    @admin.display(description="all fills of its trade")
    def trade_fills(self, obj):
        if not obj.trade_id:
            return display.EMPTY
        return format_html('<a href="{}">fills of trade {}</a>', fills_url(obj.account_id, trade_id=obj.trade_id),
                           obj.trade_id)


@admin.register(Order)
class OrderAdmin(KeyedAdmin):
    list_time_seconds = False
    list_display = ["updated_at", "account", "order_id_shown", "symbol", "side_shown", "order_type", "status",
                    "quantity", "price", "fills_link"]
    list_filter = [AccountFilter, "status", "side", SymbolFilter, "order_type", BotFilter,
                   period_filter("updated_at", "updated")]
    search_fields = ["external_id", "client_order_id", "symbol"]
    search_help_text = "An exact order id (or client order id) or a symbol."
    fieldsets = [
        (None, {"fields": ["account", "bot", "external_id", "client_order_id", "symbol", "side", "order_type",
                           "status", "price", "quantity", "filled_quantity", "average_price", "reduce_only"]}),
        ("Links", {"fields": ["fills_link", "trades_of_fills"]}),
        ("Times", {"fields": ["updated_at", "created_at", "received_at"]}),
        ("Fields the API did not know", {"fields": ["meta"]}),
    ]

    @admin.display(description="order", ordering="external_id")
    def order_id_shown(self, obj):
        return _short(obj.external_id)

    @admin.display(description="side", ordering="side")
    def side_shown(self, obj):
        return _side(obj)

    @admin.display(description="fills")
    def fills_link(self, obj):
        return format_html('<a href="{}">fills</a>', fills_url(obj.account_id, order_id=obj.external_id))

    @admin.display(description="trades")
    def trades_of_fills(self, obj):
        ids = sorted(set(Fill.objects.filter(account_id=obj.account_id, order_id=obj.external_id)
                         .exclude(trade_id="").values_list("trade_id", flat=True)[:50]))
        if not ids:
            return display.EMPTY
        return format_html_join(", ", '<a href="{}">{}</a>',  # whole ids: a row's page has room
                                ((key_url("trade", obj.account_id, t), t) for t in ids))


def trade_pnl(trade: Trade) -> Decimal | None:
    """The trade's PnL as the books hold it: computed at close, else the one its bot reported."""
    return trade.pnl if trade.pnl is not None else trade.reported_pnl


def trade_return_pct(trade: Trade) -> Decimal | None:
    """PnL over the entry notional, in percent (unlevered)."""
    pnl = trade_pnl(trade)
    notional = trade.entry_price * trade.quantity
    if pnl is None or not notional:
        return None
    return pnl / notional * 100


def r_multiple(trade: Trade) -> Decimal | None:
    """(exit − entry)·direction / |entry − stop|: what the trade made in units of the risk it planned."""
    if trade.sl_price is None or trade.exit_price is None or trade.sl_price == trade.entry_price:
        return None
    direction = 1 if trade.side == "long" else -1
    return (trade.exit_price - trade.entry_price) * direction / abs(trade.entry_price - trade.sl_price)


@admin.register(Trade)
class TradeAdmin(KeyedAdmin):
    list_time_seconds = False
    list_display = ["entry_time", "account", "trade_id_shown", "symbol", "side_shown", "entry_price",
                    "exit_price", "pnl_and_return", "held", "fills_link"]
    list_filter = [AccountFilter, "status", "side", SymbolFilter, "strategy", BotFilter,
                   period_filter("entry_time", "entered")]
    search_fields = ["external_id", "symbol", "order_id"]
    search_help_text = "An exact trade id, entry order id or symbol."
    fieldsets = [
        (None, {"fields": ["account", "bot", "external_id", "symbol", "side", "status", "strategy", "model",
                           "regime", "confidence"]}),
        ("Outcome", {"fields": ["pnl_shown", "return_shown", "r_shown", "held", "close_reason", "reported_pnl"]}),
        ("Entry", {"fields": ["entry_time", "entry_price", "quantity", "entry_fee", "leverage", "margin",
                              "order_link"]}),
        ("Plan", {"fields": ["sl_price", "tp_price", "trail_percent"]}),
        ("Exit", {"fields": ["exit_time", "exit_price", "exit_fee"]}),
        ("Links", {"fields": ["fills_link"]}),
        ("Metadata", {"fields": ["metadata", "meta", "opened_at", "updated_at", "closed_at"]}),
    ]

    @admin.display(description="trade", ordering="external_id")
    def trade_id_shown(self, obj):
        return _short(obj.external_id)

    @admin.display(description="side", ordering="side")
    def side_shown(self, obj):
        return _side(obj)

    @admin.display(description="PnL (computed at close; else as reported)", ordering="pnl")
    def pnl_shown(self, obj):
        pnl = trade_pnl(obj)
        if pnl is None:
            return display.EMPTY
        return display.toned(display.money(pnl, obj.account.base_currency, signed=True), pnl)

    @admin.display(description="PnL · return", ordering="pnl")
    def pnl_and_return(self, obj):
        pnl, value = trade_pnl(obj), trade_return_pct(obj)
        if pnl is None:
            return display.num(display.EMPTY)
        text = f"{display.money(pnl, obj.account.base_currency, signed=True)} · {display.percent(value, signed=True)}"
        return display.toned(text, pnl)

    @admin.display(description="return")
    def return_shown(self, obj):
        value = trade_return_pct(obj)
        return display.toned(display.percent(value, signed=True), value) if value is not None else display.EMPTY

    @admin.display(description="R-multiple")
    def r_shown(self, obj):
        value = r_multiple(obj)
        if value is None:
            return "no stop set" if obj.sl_price is None else display.EMPTY
        return display.toned(display.ratio(value) + " R", value)

    @admin.display(description="held")
    def held(self, obj):
        if obj.exit_time is None:
            return "open"
        return display.duration(obj.exit_time - obj.entry_time)

    @admin.display(description="fills")
    def fills_link(self, obj):
        return format_html('<a href="{}">fills</a>', fills_url(obj.account_id, trade_id=obj.external_id))

    @admin.display(description="entry order")
    def order_link(self, obj):
        return _short(obj.order_id, key_url("order", obj.account_id, obj.order_id), whole=True) if obj.order_id else ""


@admin.register(Signal)
class SignalAdmin(LedgerAdmin):
    list_display = ["generated_at", "account", "symbol", "value_shown", "strength", "strategy", "bot"]
    list_filter = [AccountFilter, "value", SymbolFilter, "strategy", BotFilter, period_filter("generated_at")]
    search_fields = ["external_id", "symbol"]
    list_select_related = ["account", "bot"]

    @admin.display(description="signal", ordering="value")
    def value_shown(self, obj):
        label = {1: "buy", 0: "neutral", -1: "sell"}.get(obj.value, str(obj.value))
        css = {1: "tb-gain", -1: "tb-loss"}.get(obj.value, "")
        return format_html('<span class="{}">{}</span>', css, label)


@admin.register(CashFlow)
class CashFlowAdmin(LedgerAdmin):
    list_display = ["ts", "account", "kind", "amount", "symbol", "external_id"]
    list_filter = [AccountFilter, "kind", "currency", period_filter("ts")]
    search_fields = ["external_id", "symbol"]
    date_hierarchy = "ts"
    currency_fields = {"amount": "currency"}


@admin.register(Event)
class EventAdmin(LedgerAdmin):
    list_display = ["received_at", "account", "type", "key_shown", "outcome", "channel", "bot"]
    list_filter = [AccountFilter, "type", "outcome", "channel", BotFilter, period_filter("received_at", "received")]
    search_fields = ["item_key"]
    search_help_text = "An item's exact key (a fill, order or trade id)."
    list_select_related = ["account", "bot"]
    fields = ["account", "type", "item_key", "outcome", "channel", "bot", "token", "received_at", "raw_pretty"]

    def get_queryset(self, request):
        # The raw text as stored: Django would read JSON numbers back as floats and lose digits.
        return super().get_queryset(request).annotate(raw_text=Cast("raw", TextField()))

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        return (queryset.filter(item_key=term), False) if term else (queryset, False)

    @admin.display(description="key", ordering="item_key")
    def key_shown(self, obj):
        return _short(obj.item_key) if obj.item_key else ""

    @admin.display(description="raw (as posted, every digit)")
    def raw_pretty(self, obj):
        text = getattr(obj, "raw_text", None)
        if text is None:
            return pretty_json(obj.raw)
        return display.json_block(display.pretty_json_text(text))


@admin.register(PositionState)
class PositionStateAdmin(LedgerAdmin):
    list_display = ["account", "symbol", "quantity", "average_price", "realized_pnl", "fees", "fill_count",
                    "last_executed_at"]
    list_filter = [AccountFilter, SymbolFilter]
    search_fields = ["symbol"]


@admin.register(DailyPnl)
class DailyPnlAdmin(LedgerAdmin):
    list_display = ["day", "account", "realized_pnl", "fees", "funding", "net_pnl", "cash_flows", "equity_end",
                    "return_pct", "fills"]
    list_filter = [AccountFilter]
    date_hierarchy = "day"
