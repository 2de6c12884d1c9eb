from unittest import mock

import pytest
from django.db import OperationalError

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def embedded_broker(settings, tmp_path):
    folders = {name: tmp_path / name for name in ("queue", "processed")}
    for folder in folders.values():
        folder.mkdir()
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(folders["queue"]), "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]), "store_processed": False,
    }
    return folders


def redis_answers() -> bool:
    from trades.api.health import check_broker

    with mock.patch("django.conf.settings.CELERY_BROKER_URL", "redis://127.0.0.1:6379/15"):
        return check_broker() is None


def test_healthz_only_says_the_process_is_up(client):
    with mock.patch("django.db.backends.base.base.BaseDatabaseWrapper.cursor", side_effect=OperationalError("down")):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_is_ready_on_the_embedded_defaults(client, embedded_broker):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok"}


def test_readyz_names_an_unwritable_broker_folder(client, embedded_broker):
    embedded_broker["queue"].rmdir()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and set(body["down"]) == {"broker"}
    assert str(embedded_broker["queue"]) in body["down"]["broker"]


def test_readyz_names_the_database_when_it_is_down(client, embedded_broker):
    with mock.patch("trades.api.health.connection") as conn:
        conn.cursor.side_effect = OperationalError("could not connect to server")
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response.json() == {"status": "unavailable",
                               "down": {"database": "OperationalError: could not connect to server"}}


@pytest.mark.parametrize("url", ["redis://:s3cret@127.0.0.1:1/0", "amqp://guest:s3cret@127.0.0.1:1//"])
def test_readyz_names_a_broker_server_that_does_not_answer_quickly(client, settings, url):
    settings.CELERY_BROKER_URL = url
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get("/readyz")
    assert response.status_code == 503
    down = response.json()["down"]
    assert set(down) == {"broker"}
    assert "127.0.0.1:1" in down["broker"] and "s3cret" not in down["broker"]  # no password in the answer


def test_readyz_is_ready_with_a_redis_broker_that_answers(client, settings):
    if not redis_answers():
        pytest.skip("no Redis on 127.0.0.1:6379 to check against")
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/15"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get("/readyz")
    assert response.status_code == 200, response.content


def test_health_needs_no_token_and_a_token_changes_nothing(client, embedded_broker, other_account):
    charlie = client_for(other_account)
    assert charlie.get("/readyz").json() == client.get("/readyz").json() == {"status": "ok"}
