"""import_events: canonical items and the older JSONL lines, all or nothing, safe to re-run."""

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from snapshots.models import EquitySnapshot, PositionSnapshot
from trades.models import Event, Fill, Signal

pytestmark = pytest.mark.django_db

# An older bot's events.jsonl: `trade`, `metric` and `position` lines with bot_id and timestamp.
LEGACY = [
    {"type": "trade", "timestamp": "2026-01-05T10:00:00", "bot_id": "paper:BTCUSD-ETHUSD", "symbol": "BTCUSD",
     "side": "buy", "price": 42000.5, "quantity": 0.25, "fee": 5.25, "reason": "signal"},
    {"type": "position", "bot_id": "paper:BTCUSD-ETHUSD", "symbol": "BTCUSD", "quantity": 0.25,
     "entry_price": 42000.5, "current_price": 42100, "unrealized_pnl": 24.875},
    {"type": "metric", "timestamp": "2026-01-05T10:05:00", "bot_id": "paper:BTCUSD-ETHUSD", "equity": 10019.625,
     "cash": 9994.75, "positions_value": 10525, "positions_count": 1, "total_trades": 1,
     "initial_capital": 10000, "returns_pct": 0.19625},
    {"type": "trade", "timestamp": "2026-01-05T11:00:00", "bot_id": "paper:BTCUSD-ETHUSD", "symbol": "BTCUSD",
     "side": "sell", "price": 42500, "quantity": 0.25, "fee": 5.3125, "pnl": 114.5625, "reason": "take_profit"},
    {"type": "position", "bot_id": "paper:BTCUSD-ETHUSD", "symbol": "ETHUSD", "quantity": -2,
     "entry_price": 2500, "current_price": 2490.5, "unrealized_pnl": 19, "timestamp": "2026-01-05T11:01:00"},
]
CANONICAL = [
    {"type": "fill", "id": "x-1", "symbol": "ETHUSD", "side": "sell", "price": "2500", "quantity": "2",
     "executed_at": "2026-01-05T11:00:30Z", "bot": "paper:BTCUSD-ETHUSD"},
    {"type": "signal", "symbol": "ETHUSD", "value": -1, "generated_at": 1767610800000, "strength": "0.8"},
]


def write(path, lines) -> str:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return str(path)


def run(*args) -> str:
    out = StringIO()
    call_command("import_events", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_legacy_lines_become_fills_positions_and_equity(account, tmp_path):
    path = write(tmp_path / "events.jsonl", LEGACY + CANONICAL)
    output = run(path, "--account", "alpha")
    assert "7 created" in output
    fills = list(Fill.objects.filter(account=account).order_by("executed_at"))
    assert [(f.side, f.price, f.quantity, f.fee) for f in fills] == [
        ("buy", Decimal("42000.5"), Decimal("0.25"), Decimal("5.25")),
        ("sell", Decimal("42500"), Decimal("0.25"), Decimal("5.3125")),
        ("sell", Decimal("2500"), Decimal("2"), Decimal("0")),
    ]
    assert fills[0].bot.key == "paper:BTCUSD-ETHUSD" and fills[0].external_id.startswith("legacy-")
    assert fills[0].source == "import"
    long, short = PositionSnapshot.objects.filter(account=account).order_by("symbol")
    assert (long.side, long.size, long.mark_price, long.unrealized_pnl) == (
        "long", Decimal("0.25"), Decimal("42100"), Decimal("24.875"))
    assert (short.side, short.size, short.entry_price) == ("short", Decimal("2"), Decimal("2500"))
    equity = EquitySnapshot.objects.get(account=account)
    assert (equity.equity, equity.cash, equity.positions_count, equity.returns_pct) == (
        Decimal("10019.625"), Decimal("9994.75"), 1, Decimal("0.19625"))
    assert Signal.objects.filter(account=account).count() == 1
    assert Event.objects.filter(account=account, channel="import_events").count() == 7


def test_a_line_without_timestamp_takes_the_previous_lines(account, tmp_path):
    run(write(tmp_path / "events.jsonl", LEGACY), "--account", "alpha")
    position = PositionSnapshot.objects.get(account=account, symbol="BTCUSD")
    fill = Fill.objects.filter(account=account).order_by("executed_at").first()
    assert position.exchange_ts == fill.executed_at


def test_reimporting_adds_nothing(account, tmp_path):
    path = write(tmp_path / "events.jsonl", LEGACY + CANONICAL)
    run(path, "--account", "alpha")
    rows = Fill.objects.count(), PositionSnapshot.objects.count(), EquitySnapshot.objects.count()
    output = run(path, "--account", "alpha")
    assert "0 created" in output and "7 duplicate" in output
    assert (Fill.objects.count(), PositionSnapshot.objects.count(), EquitySnapshot.objects.count()) == rows


def test_a_bad_line_is_named_and_nothing_is_written(account, tmp_path):
    bad = dict(LEGACY[3], price="forty-two")
    path = write(tmp_path / "events.jsonl", LEGACY[:3] + [bad] + CANONICAL)
    with pytest.raises(CommandError) as caught:
        run(path, "--account", "alpha")
    assert "line 4" in str(caught.value) and "price" in str(caught.value)
    assert Fill.objects.count() == 0 and Event.objects.count() == 0


def test_bad_json_is_named_by_line(account, tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(CANONICAL[0]) + "\n{not json\n")
    with pytest.raises(CommandError, match="line 2"):
        run(str(path), "--account", "alpha")
    assert Fill.objects.count() == 0


def test_a_bad_line_in_a_later_chunk_undoes_the_earlier_chunks(account, tmp_path, monkeypatch):
    from trades.management import importing
    monkeypatch.setattr(importing, "CHUNK", 2)
    bad = dict(CANONICAL[0], id="x-9", side="hold")
    path = write(tmp_path / "events.jsonl", LEGACY + [bad])
    with pytest.raises(CommandError, match="line 6"):
        run(path, "--account", "alpha")
    assert Fill.objects.count() == 0 and Event.objects.count() == 0


def test_it_imports_only_into_the_named_account(account, other_account, tmp_path):
    run(write(tmp_path / "events.jsonl", CANONICAL), "--account", "charlie")
    assert not Fill.objects.filter(account=account).exists()
    assert Fill.objects.filter(account=other_account).count() == 1
    with pytest.raises(CommandError, match="No account"):
        run(str(tmp_path / "events.jsonl"), "--account", "nobody")


def test_an_older_style_signal_line_without_time_inherits_it(account, tmp_path):
    lines = [LEGACY[0], {"type": "signal", "bot_id": "paper:BTCUSD-ETHUSD", "symbol": "BTCUSD", "value": 1}]
    run(write(tmp_path / "events.jsonl", lines), "--account", "alpha")
    signal = Signal.objects.get(account=account)
    assert signal.generated_at == Fill.objects.get(account=account).executed_at
    assert signal.bot.key == "paper:BTCUSD-ETHUSD"


def test_a_paper_engines_commission_and_pnl_are_booked(account, tmp_path):
    lines = [dict(LEGACY[0], commission=5.25, pnl=0), dict(LEGACY[3], commission=5.3125, pnl=114.5625)]
    for line in lines:
        line.pop("fee")
    run(write(tmp_path / "events.jsonl", lines), "--account", "alpha")
    fills = list(Fill.objects.filter(account=account).order_by("executed_at"))
    assert [(f.fee, f.fee_currency, f.reported_pnl) for f in fills] == [
        (Decimal("5.25"), "", Decimal("0")), (Decimal("5.3125"), "", Decimal("114.5625"))]
    assert all("commission" not in f.meta and "pnl" not in f.meta for f in fills)
