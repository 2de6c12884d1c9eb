"""The issue's two yardsticks, built to measure which COPY its ratios were taken against.

Issue 3 puts two other write paths on its scale: "a lean Django view with a fast validator
and a COPY-based upsert was measured near 0.4x [of COPY] without a journal, the plain DRF
serializer + bulk_create path near 0.1x". Both are built here, as plainly as their names
say, and served beside the API by the same gunicorn (`write_bench.py --calibrate`), so their
ratios to each COPY reference show which reference puts them where the issue found them.
Neither is part of tradebook: they keep no journal, no books, and only the lean one knows
a duplicate.

    POST /bench/drf-fills/   ModelSerializer(many=True) -> bulk_create; answers serializer.data
    POST /bench/lean-fills/  exact JSON -> a few checks a field -> COPY into a temporary table
                             -> INSERT ... ON CONFLICT DO NOTHING; answers the counts
"""

from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.urls import include, path
from django.utils import timezone
from rest_framework import parsers, renderers, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.auth import scoped_account_list
from accounts.models import Bot
from trades.api.parsers import ExactJSONParser
from trades.models import Fill


class _BulkList(serializers.ListSerializer):
    def create(self, validated_data):
        return Fill.objects.bulk_create([Fill(**values) for values in validated_data])


class DRFFill(serializers.ModelSerializer):
    id = serializers.CharField(source="external_id", max_length=128)
    bot = serializers.CharField(write_only=True, required=False)

    class Meta:
        model = Fill
        fields = ["id", "symbol", "side", "price", "quantity", "fee", "fee_currency", "order_id", "executed_at", "bot"]
        list_serializer_class = _BulkList
        # The (account, symbol, id) key is not checked item by item (a query each): bulk_create
        # meets it in the database, as a plain path would.
        validators = []


def _bot_id(account, key: str | None, cache: dict) -> int | None:
    """The bot's row, found or made once a request (not once an item)."""
    if not key:
        return None
    if key not in cache:
        cache[key] = Bot.objects.get_or_create(account=account, key=key)[0].pk
    return cache[key]


class DRFFills(APIView):
    parser_classes = [parsers.JSONParser]
    renderer_classes = [renderers.JSONRenderer]

    def post(self, request):
        account = scoped_account_list(request)[0]
        serializer = DRFFill(data=request.data, many=True)
        serializer.is_valid(raise_exception=True)
        bots: dict = {}
        now = timezone.now()
        for values in serializer.validated_data:
            values["bot_id"] = _bot_id(account, values.pop("bot", None), bots)
        with transaction.atomic():
            serializer.save(account=account, received_at=now)
        return Response(serializer.data, status=201)


LEAN_COLUMNS = ["account_id", "bot_id", "external_id", "symbol", "side", "price", "quantity", "fee",
                "fee_currency", "other_fees", "order_id", "trade_id", "executed_at", "reason", "source", "meta",
                "received_at", "void_reason"]


def _amount(value, name: str, positive: bool = True) -> Decimal:
    number = Decimal(value) if isinstance(value, (str, int, Decimal)) else None
    if number is None or not number.is_finite() or (positive and number <= 0):
        raise serializers.ValidationError({name: f"{value!r} is not a positive amount"})
    return number


def _lean_row(item: dict, account_id: int, bot_id, now) -> tuple:
    if not isinstance(item, dict) or not item.get("id") or not item.get("symbol"):
        raise serializers.ValidationError("each fill needs an id and a symbol")
    if item.get("side") not in ("buy", "sell"):
        raise serializers.ValidationError({"side": "buy or sell"})
    executed_at = datetime.fromisoformat(item["executed_at"])
    return (account_id, bot_id, item["id"], item["symbol"], item["side"], _amount(item["price"], "price"),
            _amount(item["quantity"], "quantity"), _amount(item.get("fee", 0), "fee", positive=False),
            item.get("fee_currency", ""), "[]", item.get("order_id", ""), "", executed_at, "", "bot", "{}", now, "")


class LeanFills(APIView):
    parser_classes = [ExactJSONParser]

    def post(self, request):
        account = scoped_account_list(request)[0]
        items = request.data if isinstance(request.data, list) else [request.data]
        now = timezone.now()
        bots: dict = {}
        rows = [_lean_row(item, account.pk, _bot_id(account, item.get("bot"), bots), now) for item in items]
        columns = ", ".join(LEAN_COLUMNS)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS lean_incoming ON COMMIT DELETE ROWS AS "
                           f"SELECT {columns} FROM trades_fill WITH NO DATA")
            with cursor.cursor.copy(f"COPY lean_incoming ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(f"INSERT INTO trades_fill ({columns}) SELECT {columns} FROM lean_incoming "
                           "ON CONFLICT (account_id, symbol, external_id) DO NOTHING")
            created = cursor.rowcount
        return Response({"created": created, "duplicate": len(rows) - created}, status=201)


urlpatterns = [
    path("bench/drf-fills/", DRFFills.as_view()),
    path("bench/lean-fills/", LeanFills.as_view()),
    path("", include("tradebook.urls")),
]
