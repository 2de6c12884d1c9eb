"""Every answer of every read endpoint is what /api/schema/ says: every key declared, every
required key there, every value of the declared type — walked over an account with something
of every kind, following a `next` page where there is one."""

import pytest

from tests.api.read_walk import populate, read_urls, schema
from tests.conftest import client_for
from trades.api.urls import urlpatterns

pytestmark = pytest.mark.django_db


def resolve(api_schema: dict, node: dict) -> dict:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = api_schema["components"]["schemas"][name]
    return node


def problems(api_schema: dict, value, node: dict, where: str) -> list[str]:
    """What of `value` the schema `node` does not declare (empty: it conforms)."""
    node = resolve(api_schema, node)
    if value is None:
        return [] if node.get("nullable") or not node else [f"{where}: null where the schema says not nullable"]
    for combinator in ("oneOf", "anyOf"):
        if combinator in node:
            found = [problems(api_schema, value, option, where) for option in node[combinator]]
            return [] if any(not f for f in found) else [f"{where}: matches none of {combinator}: {found}"]
    if "allOf" in node:
        return [p for part in node["allOf"] for p in problems(api_schema, value, part, where)]
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__} where the schema says an object"]
        out = []
        properties = node.get("properties", {})
        extra = node.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                out += problems(api_schema, item, properties[key], f"{where}.{key}")
            elif isinstance(extra, dict):
                out += problems(api_schema, item, extra, f"{where}[{key!r}]")
            elif extra is not True:
                out.append(f"{where}: key {key!r} is not in the schema")
        out += [f"{where}: required key {key!r} missing" for key in node.get("required", []) if key not in value]
        return out
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where}: {type(value).__name__} where the schema says an array"]
        return [p for i, item in enumerate(value) for p in problems(api_schema, item, node.get("items", {}),
                                                                    f"{where}[{i}]")]
    expected = {"string": str, "integer": int, "number": (int, float), "boolean": bool}.get(kind)
    if expected is not None and (not isinstance(value, expected) or (kind == "integer" and isinstance(value, bool))):
        return [f"{where}: {value!r} where the schema says {kind}"]
    if "enum" in node and value not in node["enum"]:
        return [f"{where}: {value!r} is not one of {node['enum']}"]
    return []


def test_every_read_answer_has_exactly_the_keys_the_schema_declares(account, other_account):
    populate(account)
    populate(other_account)  # charlie's rows exist and must not show up
    api_schema = schema()
    api = client_for(account)
    walked = set()
    for path, url in read_urls(api_schema, account.slug):
        response = api.get(url)
        assert response.status_code == 200, (url, response.content[:500])
        node = api_schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        body = response.json()
        assert problems(api_schema, body, node, url) == []
        if isinstance(body, dict) and body.get("next"):
            following = api.get(body["next"])
            assert following.status_code == 200
            assert problems(api_schema, following.json(), node, body["next"]) == []
        assert "charlie" not in response.content.decode()
        walked.add(path)
    # Every read endpoint was walked: the books, the lists, the details and the newest snapshots.
    assert {"/api/v1/accounts/{slug}/summary/", "/api/v1/accounts/{slug}/performance/", "/api/v1/fills/{key}/",
            "/api/v1/positions/latest/", "/api/v1/events/", "/api/v1/trades/{key}/fills/"} <= walked
    routes_read = [p for p in urlpatterns if hasattr(p.callback.view_class, "get")]
    assert len(walked) == len(routes_read) == 23


def test_the_walker_sees_an_undeclared_key():
    api_schema = {"components": {"schemas": {"Row": {"type": "object", "properties": {"a": {"type": "string"}},
                                                     "required": ["a"]}}}}
    row = {"$ref": "#/components/schemas/Row"}
    assert problems(api_schema, {"a": "x"}, row, "body") == []
    assert problems(api_schema, {"a": "x", "b": 1}, row, "body") == ["body: key 'b' is not in the schema"]
    assert problems(api_schema, {}, row, "body") == ["body: required key 'a' missing"]
    assert problems(api_schema, {"a": 1}, row, "body") == ["body.a: 1 where the schema says string"]
