"""Keyset (cursor) pagination, newest first, for every list of the read API.

DRF's CursorPagination keys on the first ordering field alone and steps over ties
with an OFFSET; bots post many rows with the same millisecond, so here the cursor
is the full key (time, id) of the row at the page's edge and the next page is
`WHERE (t, id) < (cursor_t, cursor_id)` — an index range scan on the
`(account, -time, -id)` indexes of the models, stable whatever is inserted meanwhile.
"""

import base64
import binascii
from datetime import datetime

import orjson
from django.conf import settings
from django.db.models import Q, QuerySet
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from core.errors import BadValue, TradebookError
from core.times import parse_time

MAX_CURSOR = 256


class KeysetPagination(BasePagination):
    """Pages of `page_size` rows ordered by (`time_field` desc, id desc).

    The view names its time column as `ordering_field` (default `created_at`).
    `?page_size=` is capped at API_MAX_PAGE_SIZE; `?cursor=` is opaque.
    """

    cursor_query_param = "cursor"
    page_size_query_param = "page_size"

    def paginate_queryset(self, queryset: QuerySet, request, view=None) -> list:
        self.request = request
        self.field = getattr(view, "ordering_field", "created_at")
        self.page_size = self.get_page_size(request)
        cursor = self.decode_cursor(request)
        reverse = bool(cursor and cursor["r"])
        if cursor is None:
            page = queryset.order_by(f"-{self.field}", "-id")
        elif reverse:
            # Going back: the rows just newer than the cursor, oldest first, then flipped.
            after = Q(**{f"{self.field}__gt": cursor["t"]}) | Q(**{self.field: cursor["t"], "id__gt": cursor["i"]})
            page = queryset.filter(**{f"{self.field}__gte": cursor["t"]}).filter(after).order_by(self.field, "id")
        else:
            # `t <= cursor_t` is redundant with the OR but is what the planner can use as the
            # index range start; the OR alone is only a filter, and the page would cost its depth.
            before = Q(**{f"{self.field}__lt": cursor["t"]}) | Q(**{self.field: cursor["t"], "id__lt": cursor["i"]})
            page = queryset.filter(**{f"{self.field}__lte": cursor["t"]}).filter(before).order_by(
                f"-{self.field}", "-id")
        rows = list(page[: self.page_size + 1])
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if reverse:
            rows.reverse()
            self.has_next, self.has_previous = True, more
        else:
            self.has_next, self.has_previous = more, cursor is not None
        self.rows = rows
        return rows

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw in (None, ""):
            return settings.API_PAGE_SIZE
        # ASCII digits only (int() takes other scripts' digits too), and few: capped below anyway.
        size = int(raw) if len(raw) <= 9 and raw.isascii() and raw.isdigit() else 0
        if size < 1:
            raise TradebookError("must be a whole number of at least 1", field="page_size")
        return min(size, settings.API_MAX_PAGE_SIZE)

    def decode_cursor(self, request) -> dict | None:
        raw = request.query_params.get(self.cursor_query_param)
        if not raw:
            return None
        try:
            if len(raw) > MAX_CURSOR:  # a cursor this API gives is ~80 characters: refuse, don't decode
                raise ValueError(raw)
            data = orjson.loads(base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4)))
            row_id = data["i"]
            if type(row_id) is not int or not 0 < row_id < 2**63:
                raise ValueError(row_id)
            return {"t": parse_time(data["t"], bounded=False), "i": row_id, "r": bool(data.get("r"))}
        except (ValueError, TypeError, KeyError, binascii.Error, BadValue, orjson.JSONDecodeError):
            raise TradebookError("is not a cursor this API gave", field="cursor")

    def encode_cursor(self, row, *, reverse: bool) -> str:
        value = getattr(row, self.field)
        text = value.isoformat() if isinstance(value, datetime) else str(value)
        data = orjson.dumps({"t": text, "i": row.pk, "r": reverse})
        url = self.request.build_absolute_uri()
        token = base64.urlsafe_b64encode(data).decode().rstrip("=")
        return replace_query_param(url, self.cursor_query_param, token)

    def get_next_link(self) -> str | None:
        if not self.has_next or not self.rows:
            return None
        return self.encode_cursor(self.rows[-1], reverse=False)

    def get_previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        if not self.rows:
            # Past the end: back to the first page.
            return remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)
        return self.encode_cursor(self.rows[0], reverse=True)

    def get_paginated_response(self, data) -> Response:
        return Response({"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {"name": self.cursor_query_param, "required": False, "in": "query",
             "description": "The page cursor, from `next` or `previous`.", "schema": {"type": "string"}},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "description": f"Rows per page (default {settings.API_PAGE_SIZE}, at most {settings.API_MAX_PAGE_SIZE}).",
             "schema": {"type": "integer", "minimum": 1}},
        ]
