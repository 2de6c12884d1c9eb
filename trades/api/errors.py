"""Every error of the API is {"errors": [{"index", "field", "message"}]}: raised in a view (the
exception handler) or answered by Django before one runs (no route, a server error).

A database that is away (refused, lost, restarting) or writers that kept colliding past the
request's retries are not bugs: the answer is 503 with Retry-After, never 500 (SPEC 4.4), and
the request, one transaction, left nothing behind.
"""

import logging
import sys

from django.http import HttpResponse, JsonResponse
from django.middleware import common
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core import metrics
from core.errors import TradebookError
from core.sql.faults import BUSY_MESSAGES, busy_reason

logger = logging.getLogger(__name__)

# Seconds a client is asked to wait before sending a 503'd request again: PostgreSQL restarting
# after a crash (recovery from the WAL) or a failover is back within seconds; clients back off
# further on their own when it is not.
RETRY_AFTER = 2


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
        response = Response({"errors": exc.errors}, status=exc.status)
        if exc.status == 503:  # the ingest's retries spent on colliding writers (trades.ingest.service)
            note_busy("contention", exc)
            response["Retry-After"] = str(RETRY_AFTER)
        return response
    reason = busy_reason(exc)
    if reason is not None:
        # Returning a response (not raising) makes DRF mark any open atomic block for rollback.
        note_busy(reason, exc)
        response = Response({"errors": busy_errors(reason)}, status=503)
        response["Retry-After"] = str(RETRY_AFTER)
        return response
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    # DRF's own errors (and Django's Http404 and PermissionDenied, which it turns into its own)
    # carry `detail`: said in the one error format.
    response.data = {"errors": _flatten(exc.detail if isinstance(exc, exceptions.APIException) else response.data)}
    return response


# --- errors Django answers before any API view runs --------------------------------

API_PREFIX = "/api/"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def error_response(status: int, message: str) -> JsonResponse:
    return JsonResponse({"errors": TradebookError(message).errors}, status=status)


def busy_errors(reason: str) -> list[dict]:
    return TradebookError(BUSY_MESSAGES[reason]).errors


def note_busy(reason: str, exc: BaseException) -> None:
    """One log line (no traceback: an outage is not a bug) and the 503 counted."""
    metrics.DATABASE_UNAVAILABLE.labels(reason=reason).inc()
    logger.warning("503, database %s: %s: %s", reason, type(exc).__name__, str(exc).strip().splitlines()[0]
                   if str(exc).strip() else "")


def busy_response(request, reason: str) -> HttpResponse:
    """503 with Retry-After: JSON under /api/ (and for whoever asks for JSON), plain text elsewhere."""
    if request.path.startswith(API_PREFIX) or "json" in request.headers.get("Accept", ""):
        response = JsonResponse({"errors": busy_errors(reason)}, status=503)
    else:
        response = HttpResponse(BUSY_MESSAGES[reason].split(";")[0] + "; try again in a few seconds.\n",
                                status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER)
    return response


def not_found(request, exception):
    """handler404: an API path no route matches answers in the API's error format."""
    if request.path.startswith(API_PREFIX):
        return error_response(404, "no such endpoint or item: the endpoints are listed at /api/docs/")
    return defaults.page_not_found(request, exception)


def server_error(request):
    """handler500: a bot reads JSON, not an HTML page. The request's transaction was rolled back.

    Django calls it for any exception no view handled, wherever it was raised (a middleware
    too), still inside its `except` block: a database that is away is a 503 here as well."""
    exc = sys.exc_info()[1]
    reason = busy_reason(exc) if exc is not None else None
    if reason is not None:
        note_busy(reason, exc)
        return busy_response(request, reason)
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
