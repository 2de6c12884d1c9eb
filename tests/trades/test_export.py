"""export: every kind, CSV and JSONL, exact decimals; an export re-imports to the same booked content."""

import csv
import io
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import make_account
from trades.ingest import record
from trades.models import Fill, Trade

pytestmark = pytest.mark.django_db

ITEMS = [
    {"type": "fill", "id": "f1", "symbol": "BTCUSDT", "side": "buy", "price": "42000.123456789012345678",
     "quantity": "0.000000000000000001", "fee": "0.01", "fee_currency": "USDT", "executed_at": "2026-01-02T00:00:00Z",
     "order_id": "o1", "trade_id": "t1", "is_maker": True, "bot": "paper:btc", "venue_tag": "x"},
    {"type": "fill", "id": "f2", "symbol": "BTCUSDT", "side": "sell", "price": "42100", "quantity": "0.5",
     "fees": [{"amount": "0.02", "currency": "USDT"}, {"amount": "0.0001", "currency": "BNB"}],
     "executed_at": "2026-01-02T01:00:00Z", "trade_id": "t1"},
    {"type": "fill", "id": "f3", "symbol": "ETHUSDT", "side": "buy", "price": "2500", "quantity": "1",
     "executed_at": 1767319200000, "account": "alpha"},
    {"type": "fill.void", "id": "f3", "symbol": "ETHUSDT", "reason": "posted twice by mistake"},
    {"type": "trade.open", "id": "t1", "symbol": "BTCUSDT", "side": "long", "quantity": "0.5",
     "entry_price": "42000.5", "entry_time": "2026-01-02T00:00:00Z", "sl_price": "41000", "tp_price": "43000",
     "model": "xgb", "confidence": "0.7", "metadata": {"atr": "120.5"}},
    {"type": "trade.close", "id": "t1", "exit_price": "42100", "exit_time": "2026-01-02T01:00:00Z",
     "close_reason": "tp"},
    {"type": "trade.open", "id": "t2", "symbol": "ETHUSDT", "side": "short", "quantity": "1",
     "entry_price": "2500", "entry_time": "2026-01-02T02:00:00Z"},
    {"type": "signal", "id": "s1", "symbol": "BTCUSDT", "value": 1, "generated_at": "2026-01-02T00:00:00Z",
     "strength": "0.9"},
    {"type": "position", "symbol": "BTCUSDT", "side": "long", "size": "0.5", "entry_price": "42000.5",
     "mark_price": "42010", "exchange_ts": "2026-01-02T00:30:00Z"},
    {"type": "wallet", "coin": "USDT", "wallet_balance": "10000.5", "exchange_ts": "2026-01-02T00:30:00Z"},
    {"type": "equity", "equity": "10010.5", "cash": "10000.5", "exchange_ts": "2026-01-02T00:30:00Z"},
    {"type": "mark", "symbol": "BTCUSDT", "price": "42010", "ts": "2026-01-02T00:30:00Z"},
]

BOOKED = ("symbol", "side", "price", "quantity", "fee", "fee_currency", "other_fees", "executed_at", "voided_at")


@pytest.fixture
def ledger(account):
    record(accounts=[account], items=ITEMS, channel="api", default_account=account)
    return account


def export(*args) -> str:
    out = StringIO()
    call_command("export", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def booked(account) -> list[tuple]:
    rows = []
    for f in Fill.objects.filter(account=account).order_by("external_id"):
        rows.append((f.external_id,) + tuple(getattr(f, name) if name != "voided_at" else f.voided_at is not None
                                             for name in BOOKED))
    return rows


def test_jsonl_fills_are_canonical_items_with_exact_decimals(ledger):
    lines = [json.loads(line) for line in export("--account", "alpha", "--what", "fills").splitlines()]
    assert [line["type"] for line in lines] == ["fill", "fill", "fill", "fill.void"]
    assert lines[0]["price"] == "42000.123456789012345678" and lines[0]["quantity"] == "0.000000000000000001"
    assert lines[0]["executed_at"] == "2026-01-02T00:00:00Z" and lines[0]["venue_tag"] == "x"
    assert lines[1]["fees"] == [{"amount": "0.02", "currency": "USDT"}, {"amount": "0.0001", "currency": "BNB"}]


def test_jsonl_fills_round_trip_into_a_fresh_account(ledger, tmp_path):
    make_account("fresh")
    path = tmp_path / "fills.jsonl"
    export("--account", "alpha", "--what", "fills", "--output", str(path))
    call_command("import_events", str(path), "--account", "fresh", stdout=StringIO(), stderr=StringIO())
    assert booked(ledger) == booked(ledger.__class__.objects.get(slug="fresh"))
    assert len(booked(ledger)) == 3


def test_csv_fills_round_trip_through_import_csv(ledger, tmp_path):
    fresh = make_account("fresh")
    path = tmp_path / "fills.csv"
    export("--account", "alpha", "--what", "fills", "--format", "csv", "--output", str(path))
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert rows[0]["price"] == "42000.123456789012345678" and rows[0]["is_maker"] == "true"
    call_command("import_csv", str(path), "--account", "fresh", stdout=StringIO(), stderr=StringIO())
    assert booked(ledger) == booked(fresh)
    assert Fill.objects.get(account=fresh, external_id="f1").meta.get("venue_tag") == "x"


def test_trades_export_and_reimport(ledger, tmp_path):
    fresh = make_account("fresh")
    path = tmp_path / "trades.jsonl"
    export("--account", "alpha", "--what", "trades", "--output", str(path))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line["type"], line["id"]) for line in lines] == [("trade.open", "t1"), ("trade.close", "t1"),
                                                               ("trade.open", "t2")]
    assert lines[0]["metadata"] == {"atr": "120.5"} and lines[0]["sl_price"] == "41000"
    call_command("import_events", str(path), "--account", "fresh", stdout=StringIO(), stderr=StringIO())
    t1 = Trade.objects.get(account=fresh, external_id="t1")
    assert (t1.status, t1.exit_price, t1.sl_price, t1.confidence) == ("closed", Decimal("42100"),
                                                                       Decimal("41000"), Decimal("0.7"))
    csv_text = export("--account", "alpha", "--what", "trades", "--format", "csv")
    assert len(list(csv.DictReader(io.StringIO(csv_text)))) == 2


def test_signals_snapshots_and_events(ledger, tmp_path):
    signals = export("--account", "alpha", "--what", "signals").splitlines()
    assert json.loads(signals[0])["strength"] == "0.9"
    snapshots = [json.loads(line) for line in export("--account", "alpha", "--what", "snapshots").splitlines()]
    assert sorted(line["type"] for line in snapshots) == ["equity", "mark", "position", "wallet"]
    events = [json.loads(line) for line in export("--account", "alpha", "--what", "events").splitlines()]
    assert len(events) == len(ITEMS) and all("type" in e for e in events)
    csv_events = list(csv.DictReader(io.StringIO(export("--account", "alpha", "--what", "events", "--format", "csv"))))
    assert len(csv_events) == len(ITEMS)
    for what in ("signals", "snapshots"):
        assert export("--account", "alpha", "--what", what, "--format", "csv").count("\n") >= 2
    # The whole journal re-imports into a fresh account as the same ledger.
    fresh = make_account("fresh")
    path = tmp_path / "events.jsonl"
    export("--account", "alpha", "--what", "events", "--output", str(path))
    call_command("import_events", str(path), "--account", "fresh", stdout=StringIO(), stderr=StringIO())
    assert booked(ledger) == booked(fresh)


def test_it_exports_only_the_named_account(ledger, other_account):
    assert export("--account", "charlie", "--what", "fills") == ""
    with pytest.raises(CommandError, match="No account"):
        export("--account", "nobody", "--what", "fills")
