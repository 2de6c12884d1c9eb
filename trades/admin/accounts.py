from django.contrib import admin
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.models import Account, ApiToken, Bot
from accounts.scope import visible_accounts
from trades.admin import (
    display,
    home,  # noqa: F401 - the home page and the site's titles
)
from trades.admin.account_page import account_page, account_part
from trades.admin.tenant import AccountFilter, TenantAdmin


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "exchange", "kind", "capital", "cost_basis", "is_active", "page_link"]
    list_display_links = ["slug"]
    list_filter = ["kind", "exchange", "cost_basis", "is_active"]
    search_fields = ["slug", "name", "exchange"]
    filter_horizontal = ["members"]
    readonly_fields = ["page_link", "created_shown"]
    fields = ["page_link", "slug", "name", "exchange", "kind", "base_currency", "initial_capital", "cost_basis",
              "is_active", "members", "created_shown"]

    def get_urls(self):
        page = path("<path:object_id>/page/", self.admin_site.admin_view(account_page), name="accounts_account_page")
        part = path("<int:object_id>/page/part/<str:part>/", self.admin_site.admin_view(account_part),
                    name="accounts_account_part")
        return [part, page, *super().get_urls()]

    @admin.display(description="account page")
    def page_link(self, obj):
        if obj is None or obj.pk is None:
            return ""
        return format_html('<a class="tb-button" href="{}">Equity, PnL, positions →</a>',
                           reverse("admin:accounts_account_page", args=[obj.pk]))

    @admin.display(description="initial capital", ordering="initial_capital")
    def capital(self, obj):
        return display.num(display.money(obj.initial_capital, obj.base_currency))

    @admin.display(description="created")
    def created_shown(self, obj):
        return display.when(obj.created_at)

    def get_queryset(self, request):
        return visible_accounts(request.user)

    def get_fields(self, request, obj=None):
        if obj is not None:
            # Fixed once the account exists, shown as figures.
            return [("capital" if f == "initial_capital" else f) for f in self.fields]
        return [f for f in self.fields if f not in ("page_link", "created_shown")]

    def get_readonly_fields(self, request, obj=None):
        # The cost basis and capital define the books: fixed once the account exists.
        if obj is not None:
            return [*self.readonly_fields, "slug", "cost_basis", "base_currency", "capital"]
        return self.readonly_fields


@admin.register(Bot)
class BotAdmin(TenantAdmin):
    list_display = ["key", "account", "first_seen_at", "fills_link"]
    list_filter = [AccountFilter]
    search_fields = ["key"]
    readonly_fields = ["account", "key", "first_seen_at"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="fills")
    def fills_link(self, obj):
        return format_html('<a href="{}?account__id__exact={}&bot__id__exact={}">fills</a>',
                           reverse("admin:trades_fill_changelist"), obj.account_id, obj.pk)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued with `manage.py issue_token` (the secret is shown once)."""

    list_display = ["name", "prefix", "created", "last_used", "revoked"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["name", "prefix", "digest", "accounts", "created", "last_used", "revoked"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_module_permission(self, request):
        return request.user.is_superuser

    has_view_permission = has_change_permission = lambda self, request, obj=None: request.user.is_superuser

    @admin.display(description="created (UTC)", ordering="created_at")
    def created(self, obj):
        return display.when(obj.created_at, zone=False)

    @admin.display(description="last used (UTC)", ordering="last_used_at")
    def last_used(self, obj):
        return display.when(obj.last_used_at, zone=False)

    @admin.display(description="revoked (UTC)", ordering="revoked_at")
    def revoked(self, obj):
        return display.when(obj.revoked_at, zone=False) if obj.revoked_at else ""
