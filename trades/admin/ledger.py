from django.contrib import admin
from django.db.models import TextField
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils.html import format_html

from trades.admin.tenant import LedgerAdmin, pretty_json
from trades.models import CashFlow, DailyPnl, Event, Fill, Order, PositionState, Signal, Trade


def _link(model: str, query: str, label: str) -> str:
    return format_html('<a href="{}?{}">{}</a>', reverse(f"admin:trades_{model}_changelist"), query, label)


@admin.register(Fill)
class FillAdmin(LedgerAdmin):
    list_display = ["executed_at", "account", "symbol", "side", "quantity", "price", "fee", "fee_currency",
                    "order_link", "trade_link", "source", "voided_at"]
    list_filter = ["account", "side", "source", ("voided_at", admin.EmptyFieldListFilter), "bot"]
    search_fields = ["external_id", "order_id", "trade_id", "symbol"]
    date_hierarchy = "executed_at"
    list_select_related = ["account"]
    readonly_fields = ["meta_pretty"]
    exclude = ["meta"]

    @admin.display(description="order")
    def order_link(self, obj):
        return _link("order", f"account__id__exact={obj.account_id}&q={obj.order_id}", obj.order_id) if obj.order_id else ""

    @admin.display(description="trade")
    def trade_link(self, obj):
        return _link("trade", f"account__id__exact={obj.account_id}&q={obj.trade_id}", obj.trade_id) if obj.trade_id else ""

    @admin.display(description="meta")
    def meta_pretty(self, obj):
        return pretty_json(obj.meta)


@admin.register(Order)
class OrderAdmin(LedgerAdmin):
    list_display = ["updated_at", "account", "external_id", "symbol", "side", "order_type", "status", "quantity",
                    "filled_quantity", "price", "fills_link"]
    list_filter = ["account", "status", "side", "order_type", "bot"]
    search_fields = ["external_id", "client_order_id", "symbol"]
    date_hierarchy = "updated_at"
    list_select_related = ["account"]

    @admin.display(description="fills")
    def fills_link(self, obj):
        return _link("fill", f"account__id__exact={obj.account_id}&q={obj.external_id}", "fills")


@admin.register(Trade)
class TradeAdmin(LedgerAdmin):
    list_display = ["entry_time", "account", "external_id", "symbol", "side", "status", "quantity", "entry_price",
                    "exit_price", "pnl", "strategy", "fills_link"]
    list_filter = ["account", "status", "side", "strategy", "model", "bot"]
    search_fields = ["external_id", "symbol", "order_id"]
    date_hierarchy = "entry_time"
    list_select_related = ["account"]

    @admin.display(description="fills")
    def fills_link(self, obj):
        return _link("fill", f"account__id__exact={obj.account_id}&q={obj.external_id}", "fills")


@admin.register(Signal)
class SignalAdmin(LedgerAdmin):
    list_display = ["generated_at", "account", "symbol", "value", "strength", "strategy"]
    list_filter = ["account", "value", "strategy", "bot"]
    search_fields = ["external_id", "symbol"]
    date_hierarchy = "generated_at"


@admin.register(CashFlow)
class CashFlowAdmin(LedgerAdmin):
    list_display = ["ts", "account", "kind", "amount", "currency", "symbol", "external_id"]
    list_filter = ["account", "kind", "currency"]
    search_fields = ["external_id", "symbol"]
    date_hierarchy = "ts"


@admin.register(Event)
class EventAdmin(LedgerAdmin):
    list_display = ["received_at", "account", "type", "item_key", "outcome", "channel", "bot", "token"]
    list_filter = ["account", "type", "outcome", "channel", "bot"]
    search_fields = ["item_key"]
    date_hierarchy = "received_at"
    readonly_fields = ["raw_pretty"]
    exclude = ["raw"]
    list_select_related = ["account", "bot", "token"]

    def get_queryset(self, request):
        # The raw text as stored: Django would read JSON numbers back as floats and lose digits.
        return super().get_queryset(request).annotate(raw_text=Cast("raw", TextField()))

    @admin.display(description="raw")
    def raw_pretty(self, obj):
        text = getattr(obj, "raw_text", None)
        if text is None:
            return pretty_json(obj.raw)
        return format_html("<pre style='white-space:pre-wrap;margin:0'>{}</pre>", text)


@admin.register(PositionState)
class PositionStateAdmin(LedgerAdmin):
    list_display = ["account", "symbol", "quantity", "average_price", "realized_pnl", "fees", "fill_count",
                    "last_executed_at"]
    list_filter = ["account"]
    search_fields = ["symbol"]


@admin.register(DailyPnl)
class DailyPnlAdmin(LedgerAdmin):
    list_display = ["day", "account", "realized_pnl", "fees", "funding", "net_pnl", "equity_end", "return_pct"]
    list_filter = ["account"]
    date_hierarchy = "day"


