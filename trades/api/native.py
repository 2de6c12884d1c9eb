"""native formats: Bybit V5 and CCXT payloads posted as they are (SPEC 4.3).

Thin: a pure translator (trades.ingest.formats) turns the payload into canonical
items, `record` writes them like any other post (same idempotency, journal and
books), and errors about a canonical item are re-addressed to the message and the
native field the bot sent.
"""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.response import Response

from core.errors import TradebookError
from trades.api.openapi import write_responses
from trades.api.write import WriteView, answer, submit
from trades.ingest import IngestResult
from trades.ingest.formats import bybit, ccxt
from trades.ingest.formats.base import Translation, remap_errors

ACCOUNT = OpenApiParameter("account", OpenApiTypes.STR,
                           description="Which of the token's accounts (needed when it has several).")


def ingest(request, translation: Translation, *, channel: str, slug: str | None) -> Response:
    if not translation.items:
        return answer(IngestResult())
    try:
        # Native payloads carry no account: ?account= (or CCXT's "account") or the token's only one.
        result = submit(request, translation.items, item_type=None, channel=channel,
                        slug=slug or request.query_params.get("account"))
    except TradebookError as exc:
        raise remap_errors(exc, translation.origins)
    body = result.as_dict()
    # Say where in the payload each result came from: one message may give several items.
    for row in body["results"]:
        origin = translation.origins[row["index"]]
        row["source"] = {"index": origin.index, "path": origin.path}
    for warning in body.get("warnings", ()):
        if warning["index"] is not None:  # re-addressed as errors are: the message and the field posted
            origin = translation.origins[warning["index"]]
            field = warning["field"]
            warning.update(index=origin.index, field=f"{origin.path}.{field}" if field else origin.path)
    return answer(result, body)


_ANY_OBJECTS = {"type": "array", "items": {"type": "object", "additionalProperties": True}}
BYBIT_MESSAGE = {
    "type": "object", "required": ["topic", "data"], "additionalProperties": True,
    "properties": {
        "topic": {"type": "string", "description": "execution, order, position or wallet (also e.g. order.linear)."},
        "creationTime": {"type": "integer", "description": "epoch ms; the time of wallet snapshots"},
        "data": {**_ANY_OBJECTS, "description": "Bybit's entries, with Bybit's field names."},
    },
}
BYBIT_BODY = {"oneOf": [BYBIT_MESSAGE, {"type": "array", "items": BYBIT_MESSAGE}]}
CCXT_STRUCTURES = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "trades": {**_ANY_OBJECTS, "description": "fetch_my_trades() (CCXT trade structures)."},
        "orders": {**_ANY_OBJECTS, "description": "fetch_orders() / fetch_open_orders() (CCXT order structures)."},
        "positions": {**_ANY_OBJECTS, "description": "fetch_positions() (CCXT position structures)."},
        "balance": {"type": "object", "additionalProperties": True, "description": "fetch_balance()."},
        "account": {"type": "string", "description": "Which of the token's accounts (or ?account=)."},
    },
}
CCXT_BODY = {"anyOf": [CCXT_STRUCTURES, {"type": "array", "items": CCXT_STRUCTURES},
                       {**_ANY_OBJECTS, "description": "A bare list: read as `trades` (fetch_my_trades())."}]}

BYBIT_EXAMPLE = {
    "topic": "execution", "id": "386825804_BTCUSDT_140612148849382", "creationTime": 1746270400355,
    "data": [{"category": "linear", "symbol": "BTCUSDT", "execId": "0ab1bdf7-4219-438b-b30a-32ec863018f7",
              "execPrice": "94047.9", "execQty": "0.001", "execFee": "0.05172635", "feeCurrency": "USDT",
              "execType": "Trade", "side": "Buy", "orderId": "5e8b5cd1-9a47-4b4b-9d6e-5e2fbd0f0b1a",
              "orderLinkId": "", "isMaker": False, "execTime": "1746270400353"}],
}

CCXT_EXAMPLE = {
    "trades": [{"id": "2100000000005324219", "order": "1700000000012345", "symbol": "BTC/USDT:USDT",
                "side": "buy", "price": 94047.9, "amount": 0.001, "cost": 94.0479, "takerOrMaker": "taker",
                "fee": {"cost": 0.05172635, "currency": "USDT"}, "timestamp": 1746270400353}],
}


class BybitIngest(WriteView):
    """Raw Bybit V5 private websocket messages (topic execution, order, position, wallet), one or a list.

    Executions become fills (execType Funding: a funding cash flow), orders orders,
    positions position snapshots and wallets one wallet snapshot per coin. Replaying
    a message reports every item a duplicate.
    """

    @extend_schema(
        request={"application/json": BYBIT_BODY}, parameters=[ACCOUNT], responses=write_responses(),
        examples=[OpenApiExample("an execution message", value=BYBIT_EXAMPLE, request_only=True)],
    )
    def post(self, request):
        translation = bybit.translate(request.data)
        return ingest(request, translation, channel=bybit.CHANNEL, slug=request.query_params.get("account"))


class CcxtIngest(WriteView):
    """CCXT unified structures: {"trades": [...]}, {"orders": [...]}, {"positions": [...]}, {"balance": {...}}.

    `trades` (fetch_my_trades) become fills — quantities in the base asset (contracts × contractSize),
    a Bybit funding execution a funding cash flow — `orders` orders (status null: open),
    `positions` position snapshots, `balance` (fetch_balance) one wallet snapshot per coin. A bare
    list is read as `trades`. Inverse contracts are a 400 naming the symbol. The object may name
    its `account`, as may `?account=`.
    """

    @extend_schema(
        request={"application/json": CCXT_BODY}, parameters=[ACCOUNT], responses=write_responses(),
        examples=[OpenApiExample("fetch_my_trades()", value=CCXT_EXAMPLE, request_only=True)],
    )
    def post(self, request):
        translation, named = ccxt.translate(request.data, now=timezone.now())
        slug = request.query_params.get("account") or named
        return ingest(request, translation, channel=ccxt.CHANNEL, slug=slug)
