from django.contrib import admin

from snapshots.models import EquitySnapshot, Mark, PositionSnapshot, WalletSnapshot
from trades.admin.tenant import AccountFilter, BotFilter, SymbolFilter, TenantAdmin, period_filter


class SnapshotAdmin(TenantAdmin):
    """Snapshots are observations: browsable, filterable, not edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Mark)
class MarkAdmin(SnapshotAdmin):
    list_display = ["ts", "account", "symbol", "price"]
    list_filter = [AccountFilter, SymbolFilter, period_filter("ts")]
    search_fields = ["symbol"]


@admin.register(PositionSnapshot)
class PositionSnapshotAdmin(SnapshotAdmin):
    list_display = ["exchange_ts", "account", "source", "symbol", "side", "size", "entry_price", "mark_price",
                    "unrealized_pnl"]
    list_filter = [AccountFilter, "source", "side", SymbolFilter, BotFilter, period_filter("exchange_ts")]
    search_fields = ["symbol"]


@admin.register(WalletSnapshot)
class WalletSnapshotAdmin(SnapshotAdmin):
    list_display = ["exchange_ts", "account", "coin", "wallet_balance", "available_balance", "equity"]
    list_filter = [AccountFilter, "coin", BotFilter, period_filter("exchange_ts")]
    search_fields = ["coin"]
    currency_fields = {"wallet_balance": "coin", "available_balance": "coin", "equity": "coin"}


@admin.register(EquitySnapshot)
class EquitySnapshotAdmin(SnapshotAdmin):
    list_display = ["exchange_ts", "account", "source", "bot", "equity", "positions_value", "positions_count",
                    "returns_pct"]
    list_filter = [AccountFilter, "source", BotFilter, period_filter("exchange_ts")]
