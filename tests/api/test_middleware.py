"""The request id: taken from a sane X-Request-ID or made, answered in X-Request-ID, and on every
log line of the request — Django's own line about a 4xx/5xx answer included."""

import io
import json
import logging

import pytest

from core.logs import REQUEST_ID, JsonFormatter
from tests.api.write_helpers import fill, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def test_a_sane_incoming_request_id_is_answered_and_logged(api, account, charlie_api, log_lines):
    response = charlie_api.get("/api/v1/nowhere/", HTTP_X_REQUEST_ID="proxy-7f3a:42")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "proxy-7f3a:42"
    [line] = [entry for entry in log_lines() if entry["logger"] == "django.request"]
    assert line["message"] == "Not Found: /api/v1/nowhere/"
    assert line["request_id"] == "proxy-7f3a:42"
    assert line["status_code"] == 404
    assert REQUEST_ID.get() is None  # cleared once the answer was sent: the next line is no request's


def test_a_request_without_one_or_with_a_forged_one_gets_a_new_id(api, account):
    made = post(api, "/api/v1/fills/", fill(1))["X-Request-ID"]
    assert len(made) == 32 and int(made, 16) >= 0
    forged = api.get("/api/v1/fills/", HTTP_X_REQUEST_ID='x" "level": "CRITICAL')["X-Request-ID"]
    assert len(forged) == 32 and forged != made


def test_each_request_has_its_own_id_on_its_lines(client, log_lines):
    first = client.get("/api/v1/missing/")["X-Request-ID"]
    second = client.get("/api/v1/missing/")["X-Request-ID"]
    assert first != second
    ids = [entry["request_id"] for entry in log_lines() if entry["logger"] == "django.request"]
    assert ids == [first, second]


def test_health_and_admin_answers_carry_the_id_too(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-probe-1")["X-Request-ID"] == "lb-probe-1"
    assert client.get("/admin/login/", HTTP_X_REQUEST_ID="person-1")["X-Request-ID"] == "person-1"
