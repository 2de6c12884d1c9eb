"""Every error of the API is {"errors": [{"index", "field", "message"}]}: raised in a view (the
exception handler) or answered by Django before one runs (no route, a server error)."""

from django.http import JsonResponse
from django.middleware import common
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import TradebookError


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


# --- errors Django answers before any API view runs --------------------------------

API_PREFIX = "/api/"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def error_response(status: int, message: str) -> JsonResponse:
    return JsonResponse({"errors": TradebookError(message).errors}, status=status)


def not_found(request, exception):
    """handler404: an API path no route matches answers in the API's error format."""
    if request.path.startswith(API_PREFIX):
        return error_response(404, "no such endpoint or item: the endpoints are listed at /api/docs/")
    return defaults.page_not_found(request, exception)


def server_error(request):
    """handler500: a bot reads JSON, not an HTML page. The request's transaction was rolled back."""
    if request.path.startswith(API_PREFIX):
        return error_response(500, "internal server error (logged on the server); writes are idempotent, "
                                   "so sending the request again is safe")
    return defaults.server_error(request)


class CommonMiddleware(common.CommonMiddleware):
    """Django's, except that a write to an API path without its trailing slash is not redirected.

    Django answers it with a 301, and HTTP clients follow a 301 from a POST with a GET: the bot
    would read a list of fills, with a 200, and never know its fills were not written. It gets
    a 404 naming the right URL instead. (GET and HEAD are still redirected: nothing is lost.)"""

    def process_response(self, request, response):
        if (response.status_code == 404 and request.method in WRITE_METHODS
                and request.path.startswith(API_PREFIX) and self.should_redirect_with_slash(request)):
            return error_response(404, f"no endpoint {request.path!r}: it is {request.path + '/'!r}, with the "
                                       "trailing slash (a redirect would turn this write into a read)")
        return super().process_response(request, response)
