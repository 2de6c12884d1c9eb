from django.contrib import admin

from snapshots.models import EquitySnapshot, Mark, PositionSnapshot, WalletSnapshot
from trades.admin.tenant import TenantAdmin


class SnapshotAdmin(TenantAdmin):
    """Snapshots are observations: browsable, filterable, not edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Mark)
class MarkAdmin(SnapshotAdmin):
    list_display = ["ts", "account", "symbol", "price"]
    list_filter = ["account"]
    search_fields = ["symbol"]
    date_hierarchy = "ts"


@admin.register(PositionSnapshot)
class PositionSnapshotAdmin(SnapshotAdmin):
    list_display = ["exchange_ts", "account", "source", "symbol", "side", "size", "entry_price", "mark_price",
                    "unrealized_pnl"]
    list_filter = ["account", "source", "side", "bot"]
    search_fields = ["symbol"]
    date_hierarchy = "exchange_ts"


@admin.register(WalletSnapshot)
class WalletSnapshotAdmin(SnapshotAdmin):
    list_display = ["exchange_ts", "account", "coin", "wallet_balance", "available_balance", "equity"]
    list_filter = ["account", "coin", "bot"]
    search_fields = ["coin"]
    date_hierarchy = "exchange_ts"


@admin.register(EquitySnapshot)
class EquitySnapshotAdmin(SnapshotAdmin):
    list_display = ["exchange_ts", "account", "source", "bot", "equity", "cash", "positions_value",
                    "positions_count", "returns_pct"]
    list_filter = ["account", "source", "bot"]
    date_hierarchy = "exchange_ts"
