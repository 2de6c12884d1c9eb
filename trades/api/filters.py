"""Query filters of the read API (SPEC 4.2): account, bot, symbol, since, until and each type's own.

A bad value is a 400 naming the parameter (django-filter's errors pass through the
one exception handler). `since` is inclusive, `until` exclusive, both ISO 8601
(naive = UTC) or an epoch number (seconds below 10^11, else milliseconds), as everywhere
in the API; any real time is a fair bound (no 2000-to-tomorrow range as for posted items),
and one past the calendar (year 9999 with an offset) is a 400.
"""

import django_filters
from django import forms

from core.errors import BadValue
from core.times import parse_time
from snapshots.models import EquitySnapshot, Mark, PositionSnapshot, SnapshotSource, WalletSnapshot
from trades.api.auth import account_named
from trades.ingest.items import OUTCOMES
from trades.models import CashFlow, Event, Fill, Order, Side, Signal, Trade


class TimeField(forms.Field):
    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_time(value, bounded=False)
        except BadValue as exc:
            # The message echoes the value sent, which may hold a '%': django-filter formats the
            # message with `%` (a 500 on `since=%25`), so it is escaped to say the '%' as sent.
            raise forms.ValidationError(str(exc).replace("%", "%%"))


class TimeFilter(django_filters.Filter):
    field_class = TimeField


def since(field: str) -> TimeFilter:
    return TimeFilter(field_name=field, lookup_expr="gte",
                      label=f"{field} at or after (ISO 8601, epoch seconds or epoch milliseconds)")


def until(field: str) -> TimeFilter:
    return TimeFilter(field_name=field, lookup_expr="lt",
                      label=f"{field} before (ISO 8601, epoch seconds or epoch milliseconds)")


class ScopedFilterSet(django_filters.FilterSet):
    """`account` narrows to one of the token's accounts: a slug outside the scope is a 404, as for details."""

    account = django_filters.CharFilter(method="filter_account", label="account slug (one of the token's)")
    bot = django_filters.CharFilter(field_name="bot__key", label="bot key, e.g. paper:BTCUSD-ETHUSD")

    def filter_account(self, queryset, name, value):
        return queryset.filter(account=account_named(self.request, value))


class SymbolFilterSet(ScopedFilterSet):
    symbol = django_filters.CharFilter(field_name="symbol")


class FillFilter(SymbolFilterSet):
    since = since("executed_at")
    until = until("executed_at")
    side = django_filters.ChoiceFilter(choices=Side.choices)
    order_id = django_filters.CharFilter()
    trade_id = django_filters.CharFilter()
    voided = django_filters.BooleanFilter(field_name="voided_at", lookup_expr="isnull", exclude=True,
                                          label="true: only void fills; false: only booked ones")

    class Meta:
        model = Fill
        fields: list[str] = []


class OrderFilter(SymbolFilterSet):
    since = since("updated_at")
    until = until("updated_at")
    status = django_filters.ChoiceFilter(choices=Order.Status.choices)
    side = django_filters.ChoiceFilter(choices=Side.choices)
    client_order_id = django_filters.CharFilter()

    class Meta:
        model = Order
        fields: list[str] = []


class TradeFilter(SymbolFilterSet):
    since = since("entry_time")
    until = until("entry_time")
    status = django_filters.ChoiceFilter(choices=Trade.Status.choices)
    side = django_filters.ChoiceFilter(choices=Trade.Direction.choices)
    strategy = django_filters.CharFilter()
    model = django_filters.CharFilter(label="the model that made the trade")
    regime = django_filters.CharFilter()

    class Meta:
        model = Trade
        fields: list[str] = []


class SignalFilter(SymbolFilterSet):
    since = since("generated_at")
    until = until("generated_at")
    value = django_filters.TypedChoiceFilter(choices=[(str(v), label) for v, label in Signal.Value.choices],
                                             coerce=int)
    strategy = django_filters.CharFilter()

    class Meta:
        model = Signal
        fields: list[str] = []


class CashFlowFilter(SymbolFilterSet):
    since = since("ts")
    until = until("ts")
    kind = django_filters.ChoiceFilter(choices=CashFlow.Kind.choices)
    currency = django_filters.CharFilter()

    class Meta:
        model = CashFlow
        fields: list[str] = []


class EventFilter(ScopedFilterSet):
    since = since("received_at")
    until = until("received_at")
    type = django_filters.CharFilter(label="fill, order, trade.open, …, log")
    channel = django_filters.CharFilter(label="api, ingest.bybit, import_events, …")
    outcome = django_filters.ChoiceFilter(choices=[(o, o) for o in OUTCOMES])
    id = django_filters.CharFilter(field_name="item_key", label="the item's key as posted")
    symbol = django_filters.CharFilter(field_name="raw__symbol", label="the symbol of the item as posted")

    class Meta:
        model = Event
        fields: list[str] = []


class PositionSnapshotFilter(SymbolFilterSet):
    since = since("exchange_ts")
    until = until("exchange_ts")
    source = django_filters.ChoiceFilter(choices=SnapshotSource.choices)
    side = django_filters.ChoiceFilter(choices=PositionSnapshot.Side.choices)

    class Meta:
        model = PositionSnapshot
        fields: list[str] = []


class WalletSnapshotFilter(ScopedFilterSet):
    since = since("exchange_ts")
    until = until("exchange_ts")
    coin = django_filters.CharFilter()

    class Meta:
        model = WalletSnapshot
        fields: list[str] = []


class EquitySnapshotFilter(ScopedFilterSet):
    since = since("exchange_ts")
    until = until("exchange_ts")
    source = django_filters.ChoiceFilter(choices=SnapshotSource.choices)

    class Meta:
        model = EquitySnapshot
        fields: list[str] = []


class MarkFilter(SymbolFilterSet):
    since = since("ts")
    until = until("ts")

    class Meta:
        model = Mark
        fields: list[str] = []
