"""The outermost middleware: a request id for every request, its metrics, and a 503 for a database
that is away wherever a view meets it (the API's views answer that themselves, in the exception
handler; this covers the others: the admin, /readyz, the schema).

It comes first in MIDDLEWARE, so it times and counts every answer, those of the other
middleware (a static file, a redirect) and of Django's error handlers included.
"""

from __future__ import annotations

import time

from django.core.signals import request_finished
from django.dispatch import receiver

from core import metrics
from core.logs import REQUEST_ID, request_id_from
from core.sql.faults import busy_reason
from trades.api.errors import busy_response, note_busy

HEADER = "X-Request-ID"
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
UNMATCHED = "(unmatched)"  # no route: a 404, a static file, a redirect by the common middleware


class RequestMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        request.request_id = request_id_from(request.headers.get(HEADER))
        # Cleared when the answer has been sent (request_finished, below), not on return:
        # Django logs a 4xx/5xx answer after the middleware returned it, and that line is the
        # request's too.
        REQUEST_ID.set(request.request_id)
        response = self.get_response(request)
        response[HEADER] = request.request_id
        method = request.method if request.method in METHODS else "other"
        route = _route(request)
        metrics.HTTP_REQUESTS.labels(method=method, route=route, status=str(response.status_code)).inc()
        metrics.HTTP_DURATION.labels(method=method, route=route).observe(time.perf_counter() - started)
        return response

    def process_exception(self, request, exception):
        reason = busy_reason(exception)
        if reason is None:
            return None  # Django's handling: a 500, logged with its traceback
        note_busy(reason, exception)
        return busy_response(request, reason)


def _route(request) -> str:
    """The URL pattern that answered (`api/v1/accounts/<slug:slug>/summary/`), never the path
    itself: a label's values must stay few."""
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route:
        return UNMATCHED
    return match.route


@receiver(request_finished, dispatch_uid="tradebook.request_id.clear")
def _clear_request_id(**_kwargs) -> None:
    REQUEST_ID.set(None)
