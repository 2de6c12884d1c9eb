"""write API (SPEC 4.1): thin POST/PATCH views over `trades.ingest.record`.

Each view turns the body into items, picks the default account from `?account=`,
and calls the service; the service applies every rule. Bodies are checked by the
ingest validator (not DRF serializers: a 10,000-item batch must stay fast); the
OpenAPI schema comes from the same item table (trades.api.openapi).
"""

from typing import Any, ClassVar

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import TradebookError
from trades.api.auth import account_named, caller_accounts
from trades.api.openapi import items_body, write_responses
from trades.api.parsers import ExactJSONParser, NDJSONParser, read_chunked_body
from trades.ingest import IngestResult, record
from trades.ingest.formats.legacy import fill_missing_timestamps
from trades.ingest.schema import ITEM_TYPES

ACCOUNT_PARAMETER = OpenApiParameter(
    "account", str, OpenApiParameter.QUERY, required=False,
    description="The account (slug) for items that do not name one; needed when the token has several.",
)
KEY_PARAMETER = OpenApiParameter("key", str, OpenApiParameter.PATH, description="The bot's trade id.")


class WriteView(APIView):
    """A view that takes a body: a chunked one too (see parsers.read_chunked_body)."""

    def initialize_request(self, request, *args, **kwargs):
        read_chunked_body(request)
        return super().initialize_request(request, *args, **kwargs)


def as_items(data: Any) -> list:
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        if not data:
            raise TradebookError("the list is empty: send at least one item")
        return data
    raise TradebookError("the body must be a JSON object or a list of objects")


def submit(request: Request, items: list, *, item_type: str | None, channel: str = "api",
           slug: str | None = None) -> IngestResult:
    """Every write of the API comes here: the item limit (413), the default account (`?account=`,
    or what a native payload names), then the one service."""
    if len(items) > settings.API_MAX_ITEMS:
        raise TradebookError(f"{len(items)} items; the limit is {settings.API_MAX_ITEMS} (API_MAX_ITEMS)",
                             status=413)
    slug = slug or request.query_params.get("account")
    default = account_named(request, slug) if slug else None
    return record(accounts=caller_accounts(request), items=items, token=request.auth, channel=channel,
                  item_type=item_type, default_account=default)


def answer(result: IngestResult, body: dict | None = None) -> Response:
    return Response(result.as_dict() if body is None else body, status=201 if result.created else 200)


def write(request: Request, items: list, item_type: str | None) -> Response:
    return answer(submit(request, items, item_type=item_type))


def _write_view(item_type: str, summary: str, body_name: str):
    item = ITEM_TYPES[item_type]

    @extend_schema(
        operation_id=f"write_{item_type.replace('.', '_')}", summary=summary, description=item.help,
        request=items_body(body_name, item_type), responses=write_responses(), parameters=[ACCOUNT_PARAMETER],
        tags=["write"],
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        return write(request, as_items(request.data), item_type)

    return post


class EventWrite(WriteView):
    """Post any items, each with its `type` — a JSON list or NDJSON (a bot's events.jsonl as it is)."""

    parser_classes: ClassVar = [ExactJSONParser, NDJSONParser]

    @extend_schema(
        operation_id="write_events", summary="Post mixed items (JSON or NDJSON)",
        description="Every item type of the write API, each naming its `type`; also the older JSONL lines "
                    "`trade` (a fill), `metric` (an equity snapshot) and `position` with quantity/current_price. "
                    "With Content-Type application/x-ndjson, one item a line.",
        request={
            "application/json": items_body("EventItems", *ITEM_TYPES),
            "application/x-ndjson": items_body("EventLine", *ITEM_TYPES, lines=True,
                                               description="NDJSON: one such JSON item a line."),
        },
        responses=write_responses(), parameters=[ACCOUNT_PARAMETER], tags=["write"],
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        # SPEC 8: a line without a time takes the previous line's (events.jsonl as it is).
        return write(request, fill_missing_timestamps(as_items(request.data)), None)


class FillWrite(WriteView):
    """Post fills (executions). Key: (account, symbol, id)."""

    post = _write_view("fill", "Post fills", "FillItems")


class FillVoid(WriteView):
    """Mark fills void: kept and journaled, excluded from the books."""

    post = _write_view("fill.void", "Void fills", "FillVoidItems")


class OrderWrite(WriteView):
    """Post orders (create or update: a newer updated_at is a new state)."""

    post = _write_view("order", "Post orders", "OrderItems")


class TradeOpen(WriteView):
    """Open trades (once each)."""

    post = _write_view("trade.open", "Open trades", "TradeOpenItems")


def _one_trade_item(request: Request, key: str) -> dict:
    body = request.data
    if not isinstance(body, dict):
        raise TradebookError("the body must be a JSON object")
    if "id" in body and str(body["id"]) != key:
        raise TradebookError([{"index": 0, "field": "id", "message": "differs from the trade id in the URL"}])
    return {**body, "id": key}


class TradeUpdate(WriteView):
    """Change SL/TP/trail/leverage/metadata of an open trade."""

    @extend_schema(
        operation_id="write_trade_update", summary="Change an open trade", description=ITEM_TYPES["trade.update"].help,
        request=items_body("TradeUpdateBody", "trade.update"), responses=write_responses(),
        parameters=[KEY_PARAMETER, ACCOUNT_PARAMETER], tags=["write"],
    )
    def patch(self, request: Request, key: str, *args, **kwargs) -> Response:
        return write(request, [_one_trade_item(request, key)], "trade.update")


class TradeClose(WriteView):
    """Close a trade, once: the same close again is a duplicate, a different one a 409."""

    @extend_schema(
        operation_id="write_trade_close", summary="Close a trade", description=ITEM_TYPES["trade.close"].help,
        request=items_body("TradeCloseBody", "trade.close"), responses=write_responses(),
        parameters=[KEY_PARAMETER, ACCOUNT_PARAMETER], tags=["write"],
    )
    def post(self, request: Request, key: str, *args, **kwargs) -> Response:
        return write(request, [_one_trade_item(request, key)], "trade.close")


class SignalWrite(WriteView):
    """Post signals."""

    post = _write_view("signal", "Post signals", "SignalItems")


class CashFlowWrite(WriteView):
    """Post cash flows (deposits, withdrawals, funding, transfers, rebates, fees)."""

    post = _write_view("cashflow", "Post cash flows", "CashFlowItems")


class PositionWrite(WriteView):
    """Post position snapshots as reported."""

    post = _write_view("position", "Post position snapshots", "PositionItems")


class WalletWrite(WriteView):
    """Post wallet snapshots (one row per coin)."""

    post = _write_view("wallet", "Post wallet snapshots", "WalletItems")


class EquityWrite(WriteView):
    """Post equity snapshots (the bots' metric)."""

    post = _write_view("equity", "Post equity snapshots", "EquityItems")


class MarkWrite(WriteView):
    """Post mark prices."""

    post = _write_view("mark", "Post mark prices", "MarkItems")
