"""The OpenAPI schema describes the read and native endpoints: pages, filters, bodies."""

import pytest
import yaml
from django.core.management import call_command


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    call_command("spectacular", "--validate", "--file", str(path))
    return yaml.safe_load(path.read_text())


def parameters(schema, path) -> set[str]:
    return {p["name"] for p in schema["paths"][path]["get"].get("parameters", [])}


def test_lists_are_pages_with_the_documented_filters(schema):
    assert {"cursor", "page_size", "account", "bot", "symbol", "since", "until", "side", "order_id",
            "trade_id"} <= parameters(schema, "/api/v1/fills/")
    assert {"status", "strategy"} <= parameters(schema, "/api/v1/trades/")
    assert {"value"} <= parameters(schema, "/api/v1/signals/")
    assert {"type"} <= parameters(schema, "/api/v1/events/")
    assert {"kind"} <= parameters(schema, "/api/v1/cashflows/")
    assert {"source"} <= parameters(schema, "/api/v1/positions/latest/")
    page = schema["components"]["schemas"]["PaginatedFillList"]
    assert set(page["required"]) == {"next", "previous", "results"}


def test_amounts_are_strings_and_details_take_account(schema):
    fill = schema["components"]["schemas"]["Fill"]["properties"]
    assert fill["price"]["type"] == "string" and fill["price"]["format"] == "decimal"
    assert "account" in parameters(schema, "/api/v1/trades/{key}/")


def test_native_bodies_are_described(schema):
    for path in ("/api/v1/ingest/bybit/", "/api/v1/ingest/ccxt/"):
        body = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert "oneOf" in body or "anyOf" in body
    ccxt = schema["paths"]["/api/v1/ingest/ccxt/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert any("bare list" in choice.get("description", "") for choice in ccxt["anyOf"])
