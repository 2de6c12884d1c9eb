"""Request bodies sent gzipped (`Content-Encoding: gzip`): a 10,000-fill batch is a tenth the bytes."""

import gzip
import json

import pytest
from django.test import override_settings

from tests.api.write_helpers import fill
from trades.models import Event, Fill

pytestmark = pytest.mark.django_db
URL = "/api/v1/fills/"


def post_encoded(client, body: bytes, encoding: str, *, url: str = URL, content_type: str = "application/json"):
    return client.post(url, data=body, content_type=content_type, HTTP_CONTENT_ENCODING=encoding)


def test_a_gzipped_batch_is_booked_exactly_as_the_same_batch_plain(api):
    text = json.dumps([fill(n, price="100.123456789012345678") for n in range(50)])
    response = post_encoded(api, gzip.compress(text.encode()), "gzip")
    assert response.status_code == 201, response.content
    assert response.json()["counts"]["created"] == 50
    assert {str(p) for p in Fill.objects.values_list("price", flat=True)} == {"100.123456789012345678"}
    # The journal keeps the item as posted (unpacked), not the compressed bytes.
    assert Event.objects.filter(type="fill").first().raw["price"] == "100.123456789012345678"
    # The same batch again, plain: every item a duplicate.
    again = api.post(URL, data=text, content_type="application/json")
    assert again.status_code == 200 and again.json()["counts"]["duplicate"] == 50


def test_gzipped_ndjson_on_events_and_several_gzip_members(api):
    lines = [json.dumps({"type": "fill", **fill(n)}) for n in range(4)]
    body = gzip.compress(("\n".join(lines[:2]) + "\n").encode()) + gzip.compress("\n".join(lines[2:]).encode())
    response = post_encoded(api, body, "x-gzip", url="/api/v1/events/", content_type="application/x-ndjson")
    assert response.status_code == 201, response.content
    assert Fill.objects.count() == 4


def test_identity_is_the_body_as_it_is(api):
    assert post_encoded(api, json.dumps(fill(1)).encode(), "identity").status_code == 201


def test_a_body_that_is_not_gzip_is_a_400_and_writes_nothing(api):
    whole = gzip.compress(json.dumps([fill(n) for n in range(20)]).encode())
    for body in (b"not gzip at all", whole[: len(whole) // 2]):
        response = post_encoded(api, body, "gzip")
        assert response.status_code == 400, response.content
        assert "gzip" in response.json()["errors"][0]["message"]
    assert Fill.objects.count() == 0 and Event.objects.count() == 0


def test_an_encoding_other_than_gzip_is_a_415_naming_it(api):
    response = post_encoded(api, json.dumps(fill(1)).encode(), "br")
    assert response.status_code == 415
    assert "'br'" in response.json()["errors"][0]["message"]
    assert Fill.objects.count() == 0


@override_settings(API_MAX_BYTES=5000)
def test_a_small_gzipped_body_that_unpacks_past_api_max_bytes_is_413(api):
    bomb = gzip.compress(json.dumps([fill(1, reason="x" * 100_000)]).encode())
    assert len(bomb) < 5000
    response = post_encoded(api, bomb, "gzip")
    assert response.status_code == 413
    assert "unpacks" in response.json()["errors"][0]["message"]
    assert Fill.objects.count() == 0
