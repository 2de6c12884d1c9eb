"""read API: lists and details of SPEC 4.2.

Every queryset starts from the token's accounts (`scoped_accounts`), never from
`Model.objects.all()`: a row of another account is invisible, and its detail is a
404 exactly like a key that does not exist. Lists are keyset-paginated newest
first on the `(account, -time, -id)` index of each model (see pagination.py).

These classes are the GET half of URLs whose POST/PATCH half is in write.py (see
urls.endpoint): they define no post/patch and no parser_classes.
"""

from django.db import connection
from django.db.models import JSONField, Model, OuterRef, QuerySet, Subquery, TextField
from django.db.models.functions import Cast
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, generics
from rest_framework import serializers as drf_serializers
from rest_framework.response import Response

from core.errors import TradebookError
from snapshots.models import EquitySnapshot, Mark, PositionSnapshot, WalletSnapshot
from trades.api import filters
from trades.api import serializers as out
from trades.api.auth import account_named, caller_accounts
from trades.api.pagination import KeysetPagination
from trades.models import CashFlow, Event, Fill, Order, Signal, Trade

ACCOUNT_PARAMETER = OpenApiParameter(
    "account", OpenApiTypes.STR, description="Which of the token's accounts (needed when the key is in several)."
)


def scoped(request, model: type[Model]) -> QuerySet:
    """The model's rows of the caller's accounts, with what the serializers show joined in.

    A token of one account (the usual bot) filters `account_id = x`, not `IN (…)`: with
    an equality on the index's first column, SQLite too reads the (account, -time, -id)
    index in order and stops after a page instead of sorting all the account's rows.
    """
    related = ["account"] + (["bot"] if any(f.name == "bot" for f in model._meta.fields) else [])
    ids = [account.pk for account in caller_accounts(request)]
    rows = model.objects.filter(account_id=ids[0]) if len(ids) == 1 else model.objects.filter(account_id__in=ids)
    # JSON columns as their text, read back exactly by the serializers (serializers.ExactJSONField).
    texts = {f"{f.name}_text": Cast(f.name, TextField()) for f in model._meta.fields if isinstance(f, JSONField)}
    return rows.select_related(*related).annotate(**texts)


class ScopedList(generics.ListAPIView):
    """A list of one model's rows of the token's accounts, newest first."""

    model: type[Model]
    ordering_field: str  # the time column of the model's (account, -time, -id) index
    pagination_class = KeysetPagination
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self) -> QuerySet:
        return scoped(self.request, self.model)


class ScopedDetail(generics.RetrieveAPIView):
    """One row by its key (`id` as posted). `?account=` picks the account where the key is in several."""

    model: type[Model]
    key_field = "external_id"

    def get_queryset(self) -> QuerySet:
        return scoped(self.request, self.model)

    def get_object(self):
        return find_by_key(self.request, self.get_queryset(), self.key_field, self.kwargs["key"])

    @extend_schema(parameters=[ACCOUNT_PARAMETER])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def find_by_key(request, queryset: QuerySet, key_field: str, key: str, *, extra: dict | None = None):
    slug = request.query_params.get("account")
    if slug:
        queryset = queryset.filter(account=account_named(request, slug))
    rows = list(queryset.filter(**{key_field: key}, **(extra or {}))[:2])
    if not rows:
        raise exceptions.NotFound(f"No item with id {key!r}.")
    if len(rows) > 1:
        if rows[0].account_id != rows[1].account_id:
            raise TradebookError("this id is in several of the token's accounts: name one with 'account'",
                                 field="account")
        # Fills are keyed per symbol: the same id may exist under two symbols.
        raise TradebookError("this id is in several symbols: name one with 'symbol'", field="symbol")
    return rows[0]


# --- the ledger -----------------------------------------------------------------


class EventList(ScopedList):
    """The journal: every accepted item, raw, newest first."""

    model = Event
    ordering_field = "received_at"
    serializer_class = out.EventSerializer
    filterset_class = filters.EventFilter

    def get_queryset(self) -> QuerySet:
        # raw as text: decoded with Decimals by the serializer, so no digit is lost to float.
        return super().get_queryset().select_related("token").annotate(raw_text=Cast("raw", TextField()))


class FillList(ScopedList):
    """Fills, newest execution first."""

    model = Fill
    ordering_field = "executed_at"
    serializer_class = out.FillSerializer
    filterset_class = filters.FillFilter


class FillDetail(ScopedDetail):
    """One fill by its id (`?symbol=` where the exchange numbers fills per symbol)."""

    model = Fill
    serializer_class = out.FillSerializer

    def get_object(self):
        symbol = self.request.query_params.get("symbol")
        extra = {"symbol": symbol} if symbol else None
        return find_by_key(self.request, self.get_queryset(), "external_id", self.kwargs["key"], extra=extra)

    @extend_schema(parameters=[ACCOUNT_PARAMETER, OpenApiParameter("symbol", OpenApiTypes.STR,
                                                                   description="Where the id is in several symbols.")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class OrderList(ScopedList):
    """Orders in their newest known state, newest update first."""

    model = Order
    ordering_field = "updated_at"
    serializer_class = out.OrderSerializer
    filterset_class = filters.OrderFilter


class OrderDetail(ScopedDetail):
    """One order by its id (the exchange's order id)."""

    model = Order
    serializer_class = out.OrderSerializer


class ParentFills(ScopedList):
    """The fills of one order or trade (by its key), newest first."""

    model = Fill
    ordering_field = "executed_at"
    serializer_class = out.FillSerializer
    filterset_class = filters.FillFilter
    parent_model: type[Model]
    link_field: str

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return Fill.objects.none()
        parent = find_by_key(self.request, scoped(self.request, self.parent_model), "external_id", self.kwargs["key"])
        return super().get_queryset().filter(account=parent.account_id, **{self.link_field: parent.external_id})

    @extend_schema(parameters=[ACCOUNT_PARAMETER])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class OrderFills(ParentFills):
    """The fills of one order (fills posted with its `order_id`)."""

    parent_model = Order
    link_field = "order_id"


class TradeList(ScopedList):
    """Trades with their plans, newest entry first. `?status=open` is what a bot reads on restart."""

    model = Trade
    ordering_field = "entry_time"
    serializer_class = out.TradeSerializer
    filterset_class = filters.TradeFilter


class TradeDetail(ScopedDetail):
    """One trade by the bot's trade id."""

    model = Trade
    serializer_class = out.TradeSerializer


class TradeFills(ParentFills):
    """The fills of one trade (fills posted with its `trade_id`)."""

    parent_model = Trade
    link_field = "trade_id"


class SignalList(ScopedList):
    model = Signal
    ordering_field = "generated_at"
    serializer_class = out.SignalSerializer
    filterset_class = filters.SignalFilter


class CashFlowList(ScopedList):
    model = CashFlow
    ordering_field = "ts"
    serializer_class = out.CashFlowSerializer
    filterset_class = filters.CashFlowFilter


# --- snapshots ------------------------------------------------------------------


class PositionSnapshotList(ScopedList):
    model = PositionSnapshot
    ordering_field = "exchange_ts"
    serializer_class = out.PositionSnapshotSerializer
    filterset_class = filters.PositionSnapshotFilter


class WalletSnapshotList(ScopedList):
    model = WalletSnapshot
    ordering_field = "exchange_ts"
    serializer_class = out.WalletSnapshotSerializer
    filterset_class = filters.WalletSnapshotFilter


class EquitySnapshotList(ScopedList):
    model = EquitySnapshot
    ordering_field = "exchange_ts"
    serializer_class = out.EquitySnapshotSerializer
    filterset_class = filters.EquitySnapshotFilter


class MarkList(ScopedList):
    model = Mark
    ordering_field = "ts"
    serializer_class = out.MarkSerializer
    filterset_class = filters.MarkFilter


class LatestList(generics.GenericAPIView):
    """The newest snapshot per (account, `group_field`), newest first; one page (bounded by the symbols).

    A GenericAPIView, not a list view: its answer is one page object, and the schema says so."""

    model: type[Model]
    group_field: str
    filter_backends = [DjangoFilterBackend]
    pagination_class = None

    def get_queryset(self) -> QuerySet:
        return scoped(self.request, self.model)

    def latest(self, queryset: QuerySet) -> QuerySet:
        key = ["account_id", self.group_field]
        if connection.vendor == "postgresql":
            # DISTINCT ON walks the (account, group, -exchange_ts) index once.
            newest = list(queryset.order_by(*key, "-exchange_ts", "-id").distinct(*key).values_list("pk", flat=True))
        else:
            newest = queryset.filter(pk=Subquery(
                queryset.filter(account_id=OuterRef("account_id"), **{self.group_field: OuterRef(self.group_field)})
                .order_by("-exchange_ts", "-id").values("pk")[:1]
            )).values("pk")
        return self.get_queryset().filter(pk__in=newest).order_by("-exchange_ts", "-id")

    def get(self, request, *args, **kwargs):
        rows = self.latest(self.filter_queryset(self.get_queryset()))
        return Response({"next": None, "previous": None, "results": self.get_serializer(rows, many=True).data})


def latest_schema(serializer):
    # filters=True: a view that is not a list view still documents its filters.
    return extend_schema(filters=True, responses=inline_serializer(
        name=f"Latest{serializer.Meta.model.__name__}Page",
        fields={"next": drf_serializers.CharField(allow_null=True), "previous": drf_serializers.CharField(allow_null=True),
                "results": serializer(many=True)},
    ))


class PositionLatest(LatestList):
    """The newest position snapshot per symbol (reported or computed; `?source=` picks)."""

    model = PositionSnapshot
    group_field = "symbol"
    serializer_class = out.PositionSnapshotSerializer
    filterset_class = filters.PositionSnapshotFilter

    @latest_schema(out.PositionSnapshotSerializer)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class WalletLatest(LatestList):
    """The newest wallet snapshot per coin."""

    model = WalletSnapshot
    group_field = "coin"
    serializer_class = out.WalletSnapshotSerializer
    filterset_class = filters.WalletSnapshotFilter

    @latest_schema(out.WalletSnapshotSerializer)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
