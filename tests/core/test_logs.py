"""core.logs: one JSON object per line, with the request id of the request being answered."""

import json
import logging

import pytest

from core.logs import REQUEST_ID, JsonFormatter, request_id_from


def formatted(record_args: dict, **extra) -> dict:
    record = logging.LogRecord(name="tradebook.test", level=logging.WARNING, pathname=__file__, lineno=1,
                               msg=record_args["msg"], args=record_args.get("args", ()), exc_info=None)
    for name, value in extra.items():
        setattr(record, name, value)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    return json.loads(line)


def test_a_record_is_one_json_line_with_its_fields():
    entry = formatted({"msg": "%d fills from %s", "args": (3, "bot\nwith a newline")}, status_code=503)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "tradebook.test"
    assert entry["message"] == "3 fills from bot\nwith a newline"
    assert entry["status_code"] == 503
    assert entry["time"].endswith("+00:00")
    assert "request_id" not in entry


def test_the_request_id_of_the_context_is_on_every_line():
    token = REQUEST_ID.set("abc-123")
    try:
        assert formatted({"msg": "one"})["request_id"] == "abc-123"
        assert formatted({"msg": "two"})["request_id"] == "abc-123"
    finally:
        REQUEST_ID.reset(token)


def test_an_exception_is_kept_in_one_field():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), exc_info=__import__("sys").exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "failed"
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert entry["exception"].endswith("RuntimeError: boom")


@pytest.mark.parametrize("header", ["3f2a9c1e-8b7d-4e5f-9a0b-1c2d3e4f5a6b", "bot-42:17", "a" * 128])
def test_a_sane_incoming_request_id_is_kept(header):
    assert request_id_from(header) == header


@pytest.mark.parametrize("header", [None, "", "two words", "line\nbreak", "a" * 129, "-leading-dash", "é"])
def test_anything_else_gets_a_new_id(header):
    made = request_id_from(header)
    assert made != header
    assert len(made) == 32 and int(made, 16) >= 0
