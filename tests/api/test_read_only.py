"""No read writes: every read endpoint answers on a database that refuses writes.

PostgreSQL's `default_transaction_read_only` is set on the test database for the walk, so
every new connection (each request opens one) refuses any INSERT, UPDATE or DELETE — a read
that rolled up a day, touched a token or kept a cache row would answer 500.
"""

import pytest
from django.db import connection

from tests.api.read_walk import populate, read_urls, schema
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def read_only_database():
    if connection.vendor != "postgresql":
        pytest.skip("default_transaction_read_only: PostgreSQL")
    name = connection.ops.quote_name(connection.settings_dict["NAME"])
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    connection.close()  # the setting holds for connections opened from now on
    try:
        yield
    finally:
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute("SET default_transaction_read_only = off")
            cursor.execute(f"ALTER DATABASE {name} RESET default_transaction_read_only")
        connection.close()


@pytest.fixture
def history(account, other_account):
    populate(account)
    populate(other_account)
    return account


@pytest.fixture
def api(history):
    return client_for(history)  # the token is made before the database turns read-only


def test_every_read_endpoint_answers_without_writing(history, api, read_only_database):
    with connection.cursor() as cursor:  # the walk really runs read-only
        cursor.execute("SHOW default_transaction_read_only")
        assert cursor.fetchone() == ("on",)
    urls = read_urls(schema(), history.slug)
    for _path, url in urls:
        response = api.get(url)
        assert response.status_code == 200, (url, response.content[:500])
    assert len(urls) >= 30


def test_a_write_is_refused_while_the_walk_runs(history, read_only_database):
    from django.db import InternalError

    with pytest.raises(InternalError, match="read-only transaction"), connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_account SET name = name")
