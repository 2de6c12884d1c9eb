from django.contrib import admin
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.models import Account, ApiToken, Bot
from accounts.scope import visible_accounts
from trades.admin.account_page import account_page
from trades.admin.tenant import TenantAdmin


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "exchange", "kind", "base_currency", "initial_capital", "cost_basis", "is_active",
                    "page_link"]
    list_filter = ["kind", "exchange", "cost_basis", "is_active"]
    search_fields = ["slug", "name", "exchange"]
    filter_horizontal = ["members"]
    readonly_fields = ["page_link", "created_at"]

    def get_urls(self):
        page = path("<path:object_id>/page/", self.admin_site.admin_view(account_page), name="accounts_account_page")
        return [page, *super().get_urls()]

    @admin.display(description="account page")
    def page_link(self, obj):
        if obj is None or obj.pk is None:
            return ""
        return format_html('<a href="{}">charts, positions, balances →</a>',
                           reverse("admin:accounts_account_page", args=[obj.pk]))

    def get_queryset(self, request):
        return visible_accounts(request.user)

    def get_readonly_fields(self, request, obj=None):
        # The cost basis and capital define the books: fixed once the account exists.
        if obj is not None:
            return [*self.readonly_fields, "slug", "cost_basis", "base_currency", "initial_capital"]
        return self.readonly_fields


@admin.register(Bot)
class BotAdmin(TenantAdmin):
    list_display = ["key", "account", "first_seen_at"]
    list_filter = ["account"]
    search_fields = ["key"]
    readonly_fields = ["account", "key", "first_seen_at"]

    def has_add_permission(self, request):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued with `manage.py issue_token` (the secret is shown once)."""

    list_display = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["name", "prefix", "digest", "accounts", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False

    def has_module_permission(self, request):
        return request.user.is_superuser

    has_view_permission = has_change_permission = lambda self, request, obj=None: request.user.is_superuser
