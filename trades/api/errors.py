"""One exception handler: every error is {"errors": [{"index", "field", "message"}]}."""

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.errors import TradebookError


def _flatten(detail, field=None, index=None) -> list[dict]:
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            name = None if key in ("non_field_errors", "detail") else (f"{field}.{key}" if field else str(key))
            out.extend(_flatten(value, name, index))
        return out
    if isinstance(detail, list):
        out = []
        for value in detail:
            out.extend(_flatten(value, field, index))
        return out
    return [{"index": index, "field": field, "message": str(detail)}]


def exception_handler(exc, context):
    if isinstance(exc, TradebookError):
        return Response({"errors": exc.errors}, status=exc.status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException):
        response.data = {"errors": _flatten(exc.detail)}
    return response
