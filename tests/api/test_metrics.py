"""GET /metrics: Prometheus' text format, for a staff login or the METRICS_TOKEN; what it counts."""

from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from snapshots.models import EquitySnapshot, SnapshotSource
from tests.api.test_database_unavailable import database_error
from tests.api.write_helpers import fill, post
from trades.ingest import service

pytestmark = pytest.mark.django_db

TOKEN = "metrics-secret"


@pytest.fixture
def scraper(client, settings):
    settings.METRICS_TOKEN = TOKEN

    def scrape():
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        return {family.name: family for family in text_string_to_metric_families(response.content.decode())}

    return scrape


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_need_the_token_or_a_staff_login(client, settings):
    settings.METRICS_TOKEN = TOKEN
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Token {TOKEN}").status_code == 401
    client.force_login(User.objects.create_user("bob", password="pw"))
    assert client.get("/metrics").status_code == 401
    client.force_login(User.objects.create_user("alice", password="pw", is_staff=True))
    assert client.get("/metrics").status_code == 200
    assert client.post("/metrics").status_code == 405


def test_without_a_metrics_token_no_bearer_opens_them(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_requests_are_counted_by_route_and_status_and_timed(api, account, charlie_api, scraper):
    route = "api/v1/fills/"
    before = value("tradebook_http_requests_total", method="POST", route=route, status="201")
    timed = value("tradebook_http_request_duration_seconds_count", method="POST", route=route)
    assert post(api, "/api/v1/fills/", fill(1)).status_code == 201
    assert charlie_api.get("/api/v1/nowhere/").status_code == 404
    families = scraper()
    assert value("tradebook_http_requests_total", method="POST", route=route, status="201") == before + 1
    assert value("tradebook_http_request_duration_seconds_count", method="POST", route=route) == timed + 1
    assert families["tradebook_http_requests"].type == "counter"
    assert families["tradebook_http_request_duration_seconds"].type == "histogram"
    labels = {tuple(sorted(s.labels.items())) for s in families["tradebook_http_requests"].samples}
    assert (("method", "GET"), ("route", "(unmatched)"), ("status", "404")) in labels


def test_items_are_counted_by_type_and_outcome(api, account):
    def items(outcome: str, type_name: str = "fill") -> float:
        return value("tradebook_items_ingested_total", type=type_name, outcome=outcome)

    created, duplicate, refused = items("created"), items("duplicate"), items("409")
    bad, marks = items("400"), items("created", "mark")
    assert post(api, "/api/v1/fills/", [fill(1), fill(2)]).status_code == 201
    assert post(api, "/api/v1/fills/", [fill(1), fill(3)]).status_code == 201
    assert post(api, "/api/v1/fills/", [fill(1, price="1"), fill(4)]).status_code == 409
    assert post(api, "/api/v1/fills/", [fill(5, side="up")]).status_code == 400
    mark = {"type": "mark", "symbol": "BTCUSDT", "price": "1", "ts": fill(1)["executed_at"]}
    assert post(api, "/api/v1/events/", [mark]).status_code == 201
    assert (items("created"), items("duplicate"), items("409"), items("400"), items("created", "mark")) == (
        created + 3, duplicate + 1, refused + 2, bad + 1, marks + 1)


@pytest.mark.django_db(transaction=True)
def test_database_retries_and_503s_are_counted(api, account):
    deadlocks = value("tradebook_database_retries_total", reason="deadlock")
    unavailable = value("tradebook_database_unavailable_total", reason="unavailable")
    contention = value("tradebook_database_unavailable_total", reason="contention")
    with mock.patch("trades.ingest.service._write", side_effect=database_error("40P01", "deadlock detected")):
        assert post(api, "/api/v1/fills/", fill(1)).status_code == 503
    with mock.patch("accounts.scope.run_prepared", side_effect=database_error("57P03")):
        assert post(api, "/api/v1/fills/", fill(1)).status_code == 503
    assert value("tradebook_database_retries_total", reason="deadlock") == deadlocks + service.MAX_ATTEMPTS - 1
    assert value("tradebook_database_unavailable_total", reason="contention") == contention + 1
    assert value("tradebook_database_unavailable_total", reason="unavailable") == unavailable + 1


def test_the_snapshot_lag_is_read_from_the_database(account, scraper, settings):
    families = scraper()
    assert families["tradebook_metrics_database_up"].samples[0].value == 1
    assert families["tradebook_snapshot_lag_seconds"].samples == []  # no round yet
    bucket = timezone.now().replace(microsecond=0) - timedelta(seconds=90)
    EquitySnapshot.objects.create(account=account, source=SnapshotSource.COMPUTED, equity=1, exchange_ts=bucket,
                                  bucket=bucket, received_at=bucket)
    families = scraper()
    lag = families["tradebook_snapshot_lag_seconds"].samples[0].value
    assert 90 <= lag < 150
    assert families["tradebook_snapshot_interval_seconds"].samples[0].value == settings.SNAPSHOT_INTERVAL


def test_a_source_behind_is_shown_with_its_lag(account, scraper):
    from trades.models import Source

    now = timezone.now()
    Source.objects.create(account=account, name="ft-main", kind="freqtrade", location="sqlite:///x.sqlite",
                          last_success_at=now - timedelta(seconds=30), lag=timedelta(seconds=12), error_count=2)
    Source.objects.create(account=account, name="off", kind="jsonl", location="/x", enabled=False,
                          lag=timedelta(seconds=99))
    families = scraper()
    assert [(s.labels, s.value) for s in families["tradebook_source_lag_seconds"].samples] == [
        ({"source": "ft-main"}, 12.0)]
    [age] = families["tradebook_source_last_success_age_seconds"].samples
    assert age.labels == {"source": "ft-main"} and 30 <= age.value < 60
    assert [(s.labels, s.value) for s in families["tradebook_source_failed_syncs"].samples] == [
        ({"source": "ft-main"}, 2.0)]


def test_a_scrape_with_the_database_gone_still_answers(scraper):
    with mock.patch("trades.api.metrics.EquitySnapshot.objects.filter", side_effect=database_error("08001")):
        families = scraper()
    assert families["tradebook_metrics_database_up"].samples[0].value == 0
    assert "tradebook_snapshot_lag_seconds" not in families
    assert "tradebook_http_requests" in families
