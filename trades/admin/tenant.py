"""What every tradebook admin page shares: account scoping for staff, read-only
ledger rows, pretty JSON, CSV export of the filtered list, and changelists that
open fast over millions of rows (no COUNT(*); PostgreSQL's estimate instead)."""

import csv
import json
from decimal import Decimal

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.http import StreamingHttpResponse
from django.utils.functional import cached_property
from django.utils.html import format_html

from accounts.scope import visible_accounts
from core.amounts import decimal_str


class EstimatedCountPaginator(Paginator):
    """Counts exactly up to a threshold, then uses PostgreSQL's planner estimate."""

    EXACT_LIMIT = 10_000

    @cached_property
    def count(self):
        query = self.object_list
        exact = query[: self.EXACT_LIMIT + 1].count() if hasattr(query, "query") else len(query)
        if exact <= self.EXACT_LIMIT or connection.vendor != "postgresql":
            return exact
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        return max(exact, int(plan[0]["Plan"]["Plan Rows"]))


class _Echo:
    def write(self, value):
        return value


def export_csv(modeladmin, request, queryset):
    """Stream the filtered rows as CSV (every concrete field)."""
    fields = [f for f in modeladmin.model._meta.concrete_fields]
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow([f.attname for f in fields])
        for obj in queryset.iterator(chunk_size=2000):
            yield writer.writerow([_csv_value(getattr(obj, f.attname)) for f in fields])

    name = modeladmin.model._meta.model_name
    response = StreamingHttpResponse(rows(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


export_csv.short_description = "Export selected rows as CSV"


def _csv_value(value):
    if isinstance(value, Decimal):
        return decimal_str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return "" if value is None else value


def pretty_json(value) -> str:
    return format_html("<pre style='white-space:pre-wrap;margin:0'>{}</pre>",
                       json.dumps(value, indent=2, sort_keys=True, default=str))


class TenantAdmin(admin.ModelAdmin):
    """Rows of accounts: staff see only their accounts' rows; superusers see all."""

    account_field = "account"
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    actions = [export_csv]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{f"{self.account_field}__members": request.user})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "account":
            kwargs["queryset"] = visible_accounts(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Bulk delete is not offered on tenant rows: the ledger keeps history.
        actions.pop("delete_selected", None)
        return actions


class LedgerAdmin(TenantAdmin):
    """Ledger rows are read-only: never added, edited or deleted from the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
