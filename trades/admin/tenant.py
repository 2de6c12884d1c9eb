"""What every tradebook admin page shares: account scoping for staff, read-only ledger rows,
figures written for people (trades.admin.display), pretty JSON, CSV export of everything the
filter selects, and changelists that open fast over millions of rows: no COUNT(*) (PostgreSQL's
estimate instead), pages read through the (account, time, id) indexes."""

from __future__ import annotations

import csv
import heapq
import json
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection, models
from django.http import StreamingHttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html

from accounts.models import Account, Bot
from accounts.scope import visible_accounts
from core.amounts import decimal_str
from core.exact_json import dumps as exact_dumps
from trades.admin import display

# Amount columns, by what they hold. Money is in the account's base currency unless the admin
# names the field holding its currency (`currency_fields`); a percent is a percent already.
MONEY_FIELDS = frozenset({
    "pnl", "reported_pnl", "realized_pnl", "unrealized_pnl", "fees", "funding", "net_pnl", "equity", "equity_end",
    "cash", "positions_value", "cash_flows", "initial_capital", "margin", "entry_fee", "exit_fee", "amount",
    "wallet_balance", "available_balance", "fee",
})
PERCENT_FIELDS = frozenset({"return_pct", "returns_pct", "trail_percent"})
# Gains and losses: coloured by their sign.
SIGNED_FIELDS = frozenset({"pnl", "reported_pnl", "realized_pnl", "unrealized_pnl", "net_pnl", "funding",
                           "return_pct", "returns_pct", "amount", "cash_flows"})


class EstimatedCountPaginator(Paginator):
    """On PostgreSQL, the planner's estimate of the rows when it is past a threshold, else an exact
    count bounded by the threshold (SQLite: an exact count); reads a page of a list in the
    default order (newest first) through each account's (account, time, id) index.

    The estimate comes first: counting even 10,000 rows of a filter no index serves (a symbol and
    a side over every account) reads most of the table.

    A plain `ORDER BY time DESC, id DESC LIMIT 50` over every account has no index to follow
    (the indexes start with the account) and sorts the whole table; one index scan per account,
    merged (by the database, on PostgreSQL), reads only the keys of the page and those before it,
    then the page's rows."""

    EXACT_LIMIT = 10_000
    MERGE_MAX_ACCOUNTS = 32  # past this many accounts, one query with a sort costs less

    def __init__(self, object_list, per_page, orphans=0, allow_empty_first_page=True, *, accounts=None):
        super().__init__(object_list, per_page, orphans, allow_empty_first_page)
        self.accounts = accounts

    @cached_property
    def count(self):
        query = self.object_list
        if not hasattr(query, "query"):
            return len(query)
        if connection.vendor == "postgresql":
            sql, params = query.order_by().query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
                plan = cursor.fetchone()[0]
            if isinstance(plan, str):
                plan = json.loads(plan)
            estimate = int(plan[0]["Plan"]["Plan Rows"])
            if estimate > self.EXACT_LIMIT:
                return estimate
            # Without its ORDER BY: the first rows of any scan count as well as the newest ones.
            return query.order_by()[: self.EXACT_LIMIT + 1].count()
        # SQLite (the single-machine default) has no estimate: an exact count, so that every page
        # of a list past 10,000 rows can be reached.
        return query.order_by().count()

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        rows = self._merged(bottom, top)
        if rows is None:
            return super().page(number)
        return self._get_page(rows, number, self)

    def _merged(self, bottom: int, top: int) -> list | None:
        qs = self.object_list
        time_field = _indexed_time(qs)
        if time_field is None or self.accounts is None or len(self.accounts) > self.MERGE_MAX_ACCOUNTS:
            return None
        order = (f"-{time_field}", "-id")
        heads = [qs.filter(account_id=account_id).order_by(*order).values_list(time_field, "id")
                 for account_id in self.accounts]
        if len(heads) == 1:
            keys = heads[0][bottom:top]  # the database skips to the page along the index
        elif connection.features.supports_slicing_ordering_in_compound:
            # PostgreSQL merges each account's head and skips to the page: only the page's keys come back.
            keys = heads[0][:top].union(*(head[:top] for head in heads[1:]), all=True).order_by(*order)[bottom:top]
        else:
            keys = list(heapq.merge(*(list(head[:top]) for head in heads), reverse=True))[bottom:top]
        picked = [pk for _, pk in keys]
        by_pk = {row.pk: row for row in qs.filter(pk__in=picked)}
        return [by_pk[pk] for pk in picked if pk in by_pk]


def _indexed_time(qs) -> str | None:
    """The time field when `qs` is in the order (-time, -id) of an (account, time, id) index."""
    if not hasattr(qs, "query") or qs.query.distinct or len(qs.query.order_by) != 2:
        return None
    first, second = qs.query.order_by
    if not (isinstance(first, str) and first.startswith("-") and second in ("-id", "-pk")):
        return None
    time_field = first[1:]
    for index in qs.model._meta.indexes:
        if index.condition is None and [f.lstrip("-") for f in index.fields] == ["account", time_field, "id"]:
            return time_field
    return None


# -- filters scoped to the accounts a person may see ---------------------------------------------

class AccountFilter(admin.SimpleListFilter):
    """The accounts the person may see (Django's own filter would list every account)."""

    title = "account"
    parameter_name = "account__id__exact"

    def lookups(self, request, model_admin):
        return [(str(a.pk), a.slug) for a in visible_accounts(request.user).order_by("slug")]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(account_id=int(value)) if value.isdigit() else queryset.none()


class BotFilter(admin.SimpleListFilter):
    title = "bot"
    parameter_name = "bot__id__exact"

    def lookups(self, request, model_admin):
        bots = Bot.objects.filter(account__in=visible_accounts(request.user)).select_related("account")
        several = len({b.account_id for b in bots}) > 1
        return [(str(b.pk), f"{b.key} ({b.account.slug})" if several else b.key)
                for b in bots.order_by("key", "account__slug")]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(bot_id=int(value)) if value.isdigit() else queryset.none()


class SymbolFilter(admin.SimpleListFilter):
    """Symbols the books hold (PositionState: one row per account and symbol), not a DISTINCT over
    millions of rows."""

    title = "symbol"
    parameter_name = "symbol"

    def lookups(self, request, model_admin):
        from trades.models import PositionState

        symbols = (PositionState.objects.filter(account__in=visible_accounts(request.user))
                   .order_by("symbol").values_list("symbol", flat=True).distinct())
        return [(s, s) for s in symbols]

    def queryset(self, request, queryset):
        return queryset.filter(symbol=self.value()) if self.value() else queryset


PERIODS = (("1d", "last 24 hours", 1), ("7d", "last 7 days", 7), ("30d", "last 30 days", 30),
           ("90d", "last 90 days", 90), ("365d", "last 365 days", 365))


def period_filter(field: str, title: str = "when") -> type[admin.SimpleListFilter]:
    """A filter on a time field by recent periods: what a date hierarchy offers, without its
    DISTINCT over every row's date (seconds on millions of rows)."""

    class PeriodFilter(admin.SimpleListFilter):
        parameter_name = "period"

        def lookups(self, request, model_admin):
            return [(key, label) for key, label, _ in PERIODS]

        def queryset(self, request, queryset):
            for key, _label, days in PERIODS:
                if self.value() == key:
                    return queryset.filter(**{f"{field}__gte": timezone.now() - timedelta(days=days)})
            return queryset

    PeriodFilter.title = title
    return PeriodFilter


# -- CSV --------------------------------------------------------------------------------------------

class _Echo:
    def write(self, value):
        return value


def _csv_value(value):
    if isinstance(value, Decimal):
        return decimal_str(value)
    if isinstance(value, dict | list):
        return exact_dumps(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else value


def csv_response(modeladmin, request, queryset) -> StreamingHttpResponse:
    """Every row of `queryset`, streamed as CSV, every digit kept; the account by its slug and the
    bot by its key (not their database ids)."""
    model = modeladmin.model
    fields = [f for f in model._meta.concrete_fields if f.name != "id"]
    slugs = dict(Account.objects.values_list("pk", "slug"))
    keys: dict[int, str] = {}
    if any(f.name == "bot" for f in fields):
        keys = dict(Bot.objects.filter(account__in=visible_accounts(request.user)).values_list("pk", "key"))
    raw_text = any(f.name == "raw" for f in fields)

    def value_of(obj, f):
        if f.name == "account":
            return slugs.get(obj.account_id, "")
        if f.name == "bot":
            return keys.get(obj.bot_id, "") if obj.bot_id else ""
        if f.name == "raw" and raw_text and getattr(obj, "raw_text", None) is not None:
            return obj.raw_text  # as stored: every digit
        if f.is_relation:
            return getattr(obj, f.attname)
        return _csv_value(getattr(obj, f.attname))

    header = ["id", *(f.name for f in fields)]
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(header)
        for obj in queryset.order_by(*(queryset.query.order_by or ["pk"])).iterator(chunk_size=2000):
            yield writer.writerow([obj.pk, *(value_of(obj, f) for f in fields)])

    name = model._meta.model_name
    response = StreamingHttpResponse(rows(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}s.csv"'
    return response


@admin.action(description="Export the selected rows as CSV")
def export_csv(modeladmin, request, queryset):
    return csv_response(modeladmin, request, queryset)


def pretty_json(value) -> str:
    return display.json_block(display.pretty_value(value))


# -- the admins ------------------------------------------------------------------------------------

def _is_amount(field) -> bool:
    return isinstance(field, models.DecimalField)


class TenantAdmin(admin.ModelAdmin):
    """Rows of accounts: staff see only their accounts' rows; superusers see all. Amounts, times
    and JSON are written by trades.admin.display on every list and page."""

    account_field = "account"
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    actions = [export_csv]
    change_list_template = "admin/tradebook/change_list.html"
    # {amount field: the field naming its currency}; other money is in the account's base currency.
    currency_fields: dict[str, str] = {}
    list_time_seconds = True  # False where a list reads well to the minute (trades, orders)

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        self._shown: dict[str, str] = {}  # field name -> name of its display on a detail page
        self._column: dict[str, str] = {}  # field name -> name of its display in a list
        for field in model._meta.concrete_fields:
            if _is_amount(field) or isinstance(field, models.DateTimeField | models.JSONField):
                for table, names in ((False, self._shown), (True, self._column)):
                    name = f"{'col' if table else 'show'}_{field.name}"
                    setattr(self, name, self._displayer(field, table))
                    names[field.name] = name
        if any(f.name == "bot" for f in model._meta.concrete_fields):
            self._column["bot"] = "col_bot"
        if any(f.name == "account" for f in model._meta.concrete_fields):
            # Money columns are written in the account's currency: one join, not one query a row.
            related = list(self.list_select_related) if isinstance(self.list_select_related, list | tuple) else []
            self.list_select_related = related if "account" in related else [*related, "account"]

    @admin.display(description="bot", ordering="bot__key")
    def col_bot(self, obj):
        if not obj.bot_id:
            return display.EMPTY
        key = obj.bot.key
        short = key if len(key) <= 18 else f"{key[:8]}…{key[-9:]}"
        return format_html('<span class="tb-id" title="{}">{}</span>', key, short)

    def _displayer(self, field, table: bool):
        name = field.name
        if _is_amount(field):
            currency_field = self.currency_fields.get(name)

            def show(obj):
                value = getattr(obj, name)
                if value is None:
                    return display.num(display.EMPTY)
                signed = name in SIGNED_FIELDS
                if name in PERCENT_FIELDS:
                    text = display.percent(value, signed=signed)
                elif name in MONEY_FIELDS:
                    base = obj.account.base_currency if hasattr(obj, "account_id") else ""
                    currency = getattr(obj, currency_field) if currency_field else base
                    text = display.amount(value, currency or base, base, signed=signed)
                else:
                    text = display.number(value)
                return display.toned(text, value) if signed else display.num(text)
        elif isinstance(field, models.DateTimeField):
            def show(obj):
                return display.when(getattr(obj, name), zone=not table,
                                    seconds=not table or self.list_time_seconds)
        else:
            def show(obj):
                value = getattr(obj, name)
                return display.EMPTY if value in (None, {}, []) else pretty_json(value)

        label = str(field.verbose_name)
        show.short_description = f"{label} (UTC)" if table and isinstance(field, models.DateTimeField) else label
        show.admin_order_field = name
        return show

    # A row's name on its page and beside its checkbox, its amounts without padding zeros.
    def action_checkbox(self, obj):
        from django import forms
        from django.contrib.admin import helpers

        attrs = {"class": "action-select",
                 "aria-label": format_html("Select this object for an action - {}", display.label(obj))}
        return forms.CheckboxInput(attrs, lambda value: False).render(helpers.ACTION_CHECKBOX_NAME, str(obj.pk))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["subtitle"] = context["row_label"] = display.label(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    # Lists and pages show the displays in place of the raw fields.
    def get_list_display(self, request):
        names = super().get_list_display(request)
        if AccountFilter.parameter_name in request.GET or len(self.visible_account_ids(request)) == 1:
            names = [n for n in names if n != "account"] or names  # one account: the column would repeat it
        return [self._column.get(name, name) if isinstance(name, str) else name for name in names]

    def get_list_display_links(self, request, list_display):
        links = super().get_list_display_links(request, list_display)
        if links is None:
            return None
        return [self._column.get(name, name) if isinstance(name, str) else name for name in links]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        readonly = set(super().get_readonly_fields(request, obj))
        view_only = obj is not None and not self.has_change_permission(request, obj)
        out = []
        for title, options in fieldsets:
            names = [
                self._shown.get(n, n) if isinstance(n, str) and (view_only or n in readonly) else n
                for n in options.get("fields", ())
            ]
            out.append((title, {**options, "fields": names}))
        return out

    def get_readonly_fields(self, request, obj=None):
        return [self._shown.get(n, n) if isinstance(n, str) else n
                for n in super().get_readonly_fields(request, obj)]

    def get_list_filter(self, request):
        # Django's own filter of a foreign key lists every row of the other table: every account,
        # every bot. Ours list those the person may see.
        scoped = {"account": AccountFilter, "bot": BotFilter}
        return [scoped.get(f, f) if isinstance(f, str) else f for f in super().get_list_filter(request)]

    # Scope.
    def visible_account_ids(self, request) -> list[int]:
        return list(visible_accounts(request.user).values_list("pk", flat=True))

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{f"{self.account_field}__in": visible_accounts(request.user).values("pk")})

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        accounts = self.visible_account_ids(request)
        chosen = request.GET.get(AccountFilter.parameter_name, "")
        if chosen.isdigit() and int(chosen) in accounts:
            accounts = [int(chosen)]
        if request.GET.get("q"):
            # A search selects a few rows through its own indexes: reading each account's rows in
            # time order to find them would read them all.
            accounts = None
        return self.paginator(queryset, per_page, orphans, allow_empty_first_page, accounts=accounts)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "account":
            kwargs["queryset"] = visible_accounts(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Bulk delete is not offered on tenant rows: the ledger keeps history.
        actions.pop("delete_selected", None)
        return actions

    # The exact filters the links between rows set (a trade's fills, an order's fills): named above
    # the list, with a link that removes them, since the filter sidebar does not show them.
    LINK_FILTERS = {"trade_id__exact": "trade", "order_id__exact": "order", "external_id__exact": "id"}

    def changelist_view(self, request, extra_context=None):
        linked = []
        for param, label in self.LINK_FILTERS.items():
            if param in request.GET:
                rest = request.GET.copy()
                rest.pop(param)
                linked.append({"label": label, "value": request.GET[param], "clear": f"?{rest.urlencode()}"})
        return super().changelist_view(request, {**(extra_context or {}), "linked_filters": linked})

    # Export: every row the current filter selects.
    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        export = path("export/", self.admin_site.admin_view(self.export_view), name=f"{info[0]}_{info[1]}_export")
        return [export, *super().get_urls()]

    def export_view(self, request):
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        return csv_response(self, request, changelist.queryset)


class LedgerAdmin(TenantAdmin):
    """Ledger rows are read-only: never added, edited or deleted from the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
