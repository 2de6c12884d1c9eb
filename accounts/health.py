"""/healthz: the process is up. /readyz: the database and the broker answer (503 naming what is down)."""

from django.db import connection
from django.http import JsonResponse


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    problems = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure means "not ready"; say which
        problems["database"] = str(exc) or exc.__class__.__name__
    # TODO (Celery): check the broker too.
    if problems:
        return JsonResponse({"status": "unavailable", "down": problems}, status=503)
    return JsonResponse({"status": "ok"})
