"""A bot posts its events.jsonl as it is to /events/ (SPEC 4.1 and 8)."""

import json
from decimal import Decimal

import pytest

from accounts.models import Bot
from snapshots.models import EquitySnapshot
from trades.models import Event, Fill

pytestmark = pytest.mark.django_db

LINES = [
    {"type": "trade", "timestamp": "2026-01-05T10:00:00", "bot_id": "paper:BTCUSD-ETHUSD", "symbol": "BTCUSD",
     "side": "BUY", "price": "42000.5", "quantity": "0.25"},
    {"type": "metric", "bot_id": "paper:BTCUSD-ETHUSD", "equity": "10019.625", "cash": "9000",
     "positions_value": "1019.625", "positions_count": 1, "total_trades": 1, "initial_capital": "10000",
     "returns_pct": "0.19625"},
    {"type": "trade", "timestamp": "2026-01-05T11:00:00", "bot_id": "paper:BTCUSD-ETHUSD", "symbol": "BTCUSD",
     "side": "SELL", "price": "42100", "quantity": "0.25"},
]


def post_ndjson(client, lines):
    body = "\n".join(json.dumps(line) for line in lines) + "\n"
    return client.post("/api/v1/events/", data=body, content_type="application/x-ndjson")


def test_an_events_jsonl_is_taken_as_it_is(api, account):
    response = post_ndjson(api, LINES)
    assert response.status_code == 201, response.content
    assert response.json()["counts"]["created"] == 3
    assert Fill.objects.filter(account=account).count() == 2
    equity = EquitySnapshot.objects.get(account=account)
    # the metric line had no timestamp: it takes the previous line's
    assert equity.exchange_ts.isoformat() == "2026-01-05T10:00:00+00:00"
    assert Bot.objects.filter(account=account, key="paper:BTCUSD-ETHUSD").exists()
    assert Event.objects.filter(account=account).count() == 3


def test_posting_it_again_adds_nothing(api, account):
    post_ndjson(api, LINES)
    again = post_ndjson(api, LINES)
    assert again.status_code == 200
    assert again.json()["counts"] == {"created": 0, "duplicate": 3, "updated": 0}
    assert Fill.objects.filter(account=account).count() == 2


def test_charlie_cannot_post_into_alpha(charlie_api, account, other_account):
    lines = [dict(line, account="alpha") for line in LINES]
    assert post_ndjson(charlie_api, lines).status_code == 404
    assert not Fill.objects.exists() and not Event.objects.exists()


# A paper engine's `trade` lines (SPEC 8): `commission` is the fee in the base currency, `pnl` the
# reported PnL. Once booked with fee 0 and both kept in meta (fees 0 against 236.67 in a 147-fill file).
PAPER = [
    {"type": "trade", "timestamp": "2026-01-05T10:00:00", "bot_id": "paper:BTCUSD-ETHUSD", "symbol": "BTCUSD",
     "side": "BUY", "price": "42000.5", "quantity": "0.25", "commission": "5.25", "pnl": "0"},
    {"type": "trade", "timestamp": "2026-01-05T11:00:00", "bot_id": "paper:BTCUSD-ETHUSD", "symbol": "BTCUSD",
     "side": "SELL", "price": "42100", "quantity": "0.25", "commission": "5.2625", "pnl": "14.6125"},
]


def test_a_paper_engines_commission_is_the_fee_and_its_pnl_the_reported_pnl(api, account):
    response = post_ndjson(api, PAPER)
    assert response.status_code == 201 and "warnings" not in response.json()
    fills = list(Fill.objects.filter(account=account).order_by("executed_at"))
    assert [(f.fee, f.fee_currency, f.reported_pnl, f.meta) for f in fills] == [
        (Decimal("5.25"), "", Decimal("0"), {}), (Decimal("5.2625"), "", Decimal("14.6125"), {})]
    summary = api.get("/api/v1/accounts/alpha/summary/").json()
    # Booked in the base currency: realized 24.875 gross, fees 10.5125 counted once.
    assert (summary["realized_pnl"], summary["fees"]) == ("24.875", "10.5125")
