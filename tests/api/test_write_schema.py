"""/api/schema/ describes every write endpoint and its bodies truly (derived from the item table)."""

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from trades.api.urls import urlpatterns
from trades.ingest.schema import ITEM_TYPES

WRITE_PATHS = {
    "/api/v1/events/": "post", "/api/v1/fills/": "post", "/api/v1/fills/void/": "post",
    "/api/v1/orders/": "post", "/api/v1/trades/": "post", "/api/v1/trades/{key}/": "patch",
    "/api/v1/trades/{key}/close/": "post", "/api/v1/signals/": "post", "/api/v1/cashflows/": "post",
    "/api/v1/positions/": "post", "/api/v1/wallets/": "post", "/api/v1/equity/": "post", "/api/v1/marks/": "post",
}


def _write_patterns() -> list:
    """The routes of trades.api.urls with only their write views (the read side is tested elsewhere)."""
    from django.urls import path

    from trades.api import write

    classes = {c for c in vars(write).values() if isinstance(c, type) and c.__module__ == write.__name__}
    patterns = []
    for pattern in urlpatterns:
        view_class = pattern.callback.view_class
        mine = [c for c in view_class.__mro__ if c in classes]
        if mine:
            patterns.append(path("api/v1/" + str(pattern.pattern), mine[0].as_view()))
    return patterns


def _write_schema() -> dict:
    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=_write_patterns())
    return generator.get_schema(request=None, public=True)


def test_the_write_endpoints_generate_a_valid_schema_without_warnings():
    schema = _write_schema()
    validate_schema(schema)
    assert not GENERATOR_STATS._warn_cache and not GENERATOR_STATS._error_cache, dict(GENERATOR_STATS._warn_cache)
    assert set(schema["paths"]) == set(WRITE_PATHS)
    for url, method in WRITE_PATHS.items():
        operation = schema["paths"][url][method]
        assert "requestBody" in operation, url
        assert {"200", "201", "400", "404", "409", "413", "429"} <= set(operation["responses"]), url


def test_each_item_component_comes_from_the_item_table():
    components = _write_schema()["components"]["schemas"]
    for item_type in ITEM_TYPES.values():
        component = components[item_type.component]
        declared = {f.name for f in item_type.fields}
        assert declared <= set(component["properties"]), item_type.name
        assert set(component["required"]) == {f.name for f in item_type.fields if f.required}
    fill = components["FillItem"]["properties"]
    assert [alternative["type"] for alternative in fill["price"]["oneOf"]] == ["string", "number"]
    assert components["FillItemsRequest"]["oneOf"][1]["type"] == "array"  # one object or a list
    assert {"$ref": "#/components/schemas/WriteResult"} in [
        c["schema"] for c in _write_schema()["paths"]["/api/v1/fills/"]["post"]["responses"]["201"]["content"].values()]


def test_events_accepts_json_and_ndjson_of_every_type():
    body = _write_schema()["paths"]["/api/v1/events/"]["post"]["requestBody"]["content"]
    assert {"application/json", "application/x-ndjson"} <= set(body)


@pytest.mark.django_db
def test_the_project_schema_command_validates_and_mentions_every_write_path(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    paths = yaml.safe_load(out.read_text())["paths"]
    for url, method in WRITE_PATHS.items():
        assert method in paths[url], url
