"""/healthz: the process is up. /readyz: the database and the broker answer (503 naming what is
down, with Retry-After, never a 500: a database that is away is what this reports).

The broker check follows CELERY_BROKER_URL: the embedded filesystem broker is
ready when its folders exist and take a file; Redis or RabbitMQ when a connection
opens within BROKER_CHECK_TIMEOUT seconds (a load balancer polls this: it must
answer quickly, never hang on a dead broker).
"""

from __future__ import annotations

import contextlib
import os
import tempfile

from django.conf import settings
from django.db import connection
from django.http import JsonResponse

from trades.api.errors import RETRY_AFTER

BROKER_CHECK_TIMEOUT = 2.0


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    problems = {}
    database = check_database()
    if database:
        problems["database"] = database
    broker = check_broker()
    if broker:
        problems["broker"] = broker
    if problems:
        response = JsonResponse({"status": "unavailable", "down": problems}, status=503)
        response["Retry-After"] = str(RETRY_AFTER)
        return response
    return JsonResponse({"status": "ok"})


def check_database() -> str | None:
    """None when the database answers; else what went wrong."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure means "not ready"; say which
        # A connection that failed is not kept for the next probe: that one connects afresh and
        # says ready as soon as the database is back.
        with contextlib.suppress(Exception):
            connection.close()
        return _describe(exc)
    return None


def check_broker() -> str | None:
    """None when the Celery broker is usable; else what went wrong (no password in the text)."""
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        return _check_folders(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    from kombu import Connection

    conn = Connection(url, connect_timeout=BROKER_CHECK_TIMEOUT, transport_options={
        **getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}),
        "socket_connect_timeout": BROKER_CHECK_TIMEOUT, "socket_timeout": BROKER_CHECK_TIMEOUT,
        "max_retries": 0,
    })
    try:
        # One attempt, no retry loop: ensure_connection would otherwise back off for a long while.
        conn.ensure_connection(max_retries=1, timeout=BROKER_CHECK_TIMEOUT)
        # Redis connects lazily: a real command proves the server answers.
        client = getattr(conn.default_channel, "client", None)
        if client is not None and hasattr(client, "ping"):
            client.ping()
    except Exception as exc:
        return f"{conn.as_uri()}: {_describe(exc)}"
    finally:
        conn.release()
    return None


def _check_folders(options: dict) -> str | None:
    folders = {options.get("data_folder_in"), options.get("data_folder_out")}
    if options.get("store_processed"):
        folders.add(options.get("processed_folder"))
    for folder in sorted(f for f in folders if f):
        try:
            # A real write, not os.access: a full or read-only disk shows here.
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".readyz-", delete=True):
                pass
        except OSError as exc:
            return f"filesystem broker folder {folder} is not writable: {exc.strerror or exc}"
        if not os.path.isdir(folder):
            return f"filesystem broker folder {folder} is missing"
    return None


def _describe(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__
