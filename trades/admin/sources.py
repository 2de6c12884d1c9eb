"""The sources in the admin: which bots' stores tradebook follows, how far behind each is, its last error."""

from django.contrib import admin, messages
from django.utils.html import format_html

from trades.admin.tenant import TenantAdmin
from trades.models import Source
from trades.sources.sync import describe, sync_source


@admin.action(description="Sync now")
def sync_now(modeladmin, request, queryset):
    """Runs the sync in the request (what sync_source does): an incremental sync is short."""
    for source in queryset.order_by("name"):
        result = sync_source(source_id=source.pk)
        level = messages.SUCCESS if result.status == "done" else messages.WARNING
        modeladmin.message_user(request, result.line(), level)


@admin.register(Source)
class SourceAdmin(TenantAdmin):
    list_display = ["name", "account", "kind", "enabled", "last_sync_at", "last_success_at", "lag_shown",
                    "error_count", "last_error_shown"]
    list_filter = ["account", "kind", "enabled"]
    search_fields = ["name", "location"]
    readonly_fields = ["where", "cursor", "created_at", "last_sync_at", "last_success_at", "lag", "last_error",
                       "error_count"]
    fields = ["name", "account", "kind", "location", "enabled", *readonly_fields]
    actions = [sync_now]

    @admin.display(description="lag", ordering="lag")
    def lag_shown(self, obj):
        return "-" if obj.lag is None else f"{obj.lag.total_seconds():,.0f} s"

    @admin.display(description="last error")
    def last_error_shown(self, obj):
        if not obj.last_error:
            return ""
        text = obj.last_error if len(obj.last_error) <= 120 else obj.last_error[:119] + "…"
        return format_html("<span style='color:#ba2121'>{}</span>", text)

    @admin.display(description="reads")
    def where(self, obj):
        return describe(obj) if obj.pk else ""

    def get_readonly_fields(self, request, obj=None):
        # The location holds a database URL with its password: once added it is shown without
        # it (`reads`), and changed only by removing and adding the source.
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "location"] if obj is not None else fields

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "account", "kind", "location", "enabled"]
        return [f for f in self.fields if f != "location"]
