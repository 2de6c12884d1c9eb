"""Schemathesis against /api/schema/: every write endpoint, with bodies the schema allows and bodies
it does not (positive and negative generation), plus the read lists' query parameters.

For every request: no 5xx, an answer within a second, and a refused request (4xx) writes nothing —
the rows of every ledger table and of the journal are counted before and after. The schema is the
one `/api/schema/` serves (drf-spectacular, generated in process); requests go through Django's
test client, inside the test's transaction, on SQLite or PostgreSQL as DATABASE_URL says.
"""

import json
import time
from urllib.parse import urlencode

import pytest
import schemathesis
from django.db import connection
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET

from snapshots.models import EquitySnapshot, Mark, PositionSnapshot, WalletSnapshot
from tests.factories import make_account, make_token
from tests.fuzz.conftest import FIGURES
from trades.models import CashFlow, Event, Fill, Order, PositionState, Signal, Trade

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

SLOWEST = 1.0  # seconds
WRITE_EXAMPLES = 30  # per write operation and mode (15 × 2): about 900 requests
READ_EXAMPLES = 10  # per read operation (14): about 140 requests
LEDGER = (Fill, Order, Trade, Signal, CashFlow, Event, PositionSnapshot, WalletSnapshot, EquitySnapshot, Mark,
          PositionState)


# Every write operation of the schema (a test below holds this list to the schema, so none is missed).
WRITES = [("POST", "/api/v1/events/"), ("POST", "/api/v1/fills/"), ("POST", "/api/v1/fills/void/"),
          ("POST", "/api/v1/orders/"), ("POST", "/api/v1/trades/"), ("PATCH", "/api/v1/trades/{key}/"),
          ("POST", "/api/v1/trades/{key}/close/"), ("POST", "/api/v1/signals/"), ("POST", "/api/v1/cashflows/"),
          ("POST", "/api/v1/positions/"), ("POST", "/api/v1/wallets/"), ("POST", "/api/v1/equity/"),
          ("POST", "/api/v1/marks/"), ("POST", "/api/v1/ingest/bybit/"), ("POST", "/api/v1/ingest/ccxt/")]
READS = [("GET", path) for path in (
    "/api/v1/events/", "/api/v1/fills/", "/api/v1/fills/{key}/", "/api/v1/orders/", "/api/v1/orders/{key}/fills/",
    "/api/v1/trades/", "/api/v1/trades/{key}/", "/api/v1/signals/", "/api/v1/cashflows/", "/api/v1/positions/",
    "/api/v1/positions/latest/", "/api/v1/wallets/", "/api/v1/equity/", "/api/v1/marks/")]
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


@pytest.fixture(scope="session")
def api_schema():
    # Schemathesis' own pytest loader (from_fixture) does not run on this pytest; the schema is
    # loaded here, once, and each operation's strategy drawn from it in the tests.
    raw = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))
    return schemathesis.openapi.from_dict(raw)


@pytest.fixture
def caller(db):
    account = make_account("alpha")
    _token, secret = make_token(account)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def counts() -> tuple[int, ...]:
    """The rows of every ledger table and of the journal, in one query."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {quote(m._meta.db_table)})" for m in LEDGER))
        return tuple(cursor.fetchone())


def send(client: APIClient, case):
    """The generated request, sent as a bot would: its body as JSON (one line for NDJSON)."""
    url = case.formatted_path
    if case.query:
        url += "?" + urlencode({k: v if isinstance(v, (list, str)) else json.dumps(v) for k, v in case.query.items()},
                               doseq=True)
    extra = {}
    for name, value in (case.headers or {}).items():
        if name.lower() in ("authorization", "content-type", "content-length"):
            continue  # the caller's token and the body's type are set below
        extra["HTTP_" + name.upper().replace("-", "_")] = str(value)
    method = case.method.lower()
    if case.body is NOT_SET:
        return getattr(client, method)(url, **extra)
    data = case.body if isinstance(case.body, bytes) else json.dumps(case.body, default=str)
    return getattr(client, method)(url, data=data, content_type=case.media_type or "application/json", **extra)


def checked(client: APIClient, case) -> None:
    before = counts()
    start = time.perf_counter()
    what = f"{case.method} {case.formatted_path}"
    try:
        response = send(client, case)
    except Exception:  # the test client raises what the server would answer with a 500
        FIGURES.answer(500, time.perf_counter() - start, what)
        raise
    seconds = time.perf_counter() - start
    FIGURES.answer(response.status_code, seconds, what)
    assert response.status_code < 500, (what, case.body, response.content[:500])
    assert seconds < SLOWEST, (what, seconds)
    if response.status_code >= 400:
        assert counts() == before, (what, response.status_code, case.body)


def fuzz(api_schema, method: str, path: str, mode: GenerationMode, examples: int, client: APIClient) -> None:
    operation = api_schema[path][method]

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        checked(client, case)

    run()


def test_the_fuzzed_operations_are_every_write_of_the_schema(api_schema):
    operations = {(op.method.upper(), op.path) for op in (r.ok() for r in api_schema.get_all_operations())}
    assert {o for o in operations if o[0] != "GET"} == set(WRITES)
    assert set(READS) <= operations


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("method, path", WRITES)
def test_write_endpoints(api_schema, caller, method, path, mode):
    fuzz(api_schema, method, path, mode, WRITE_EXAMPLES, caller)


@pytest.mark.parametrize("method, path", READS)
def test_read_lists_and_their_query_parameters(api_schema, caller, method, path):
    fuzz(api_schema, method, path, GenerationMode.NEGATIVE, READ_EXAMPLES, caller)
