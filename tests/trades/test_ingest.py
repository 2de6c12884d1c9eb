"""trades.ingest.record: the one service behind every door that writes (SPEC 4.1)."""

from decimal import Decimal

import pytest

from accounts.models import Bot
from core.errors import TradebookError
from core.exact_json import dumps
from tests.factories import make_account, make_token
from trades.ingest import record
from trades.models import Event, Fill, PositionState, Trade


def fill(n: int, **fields) -> dict:
    item = {"id": f"f{n}", "symbol": "BTCUSDT", "side": "buy", "price": "100", "quantity": "1",
            "executed_at": 1767225600000 + n * 1000}
    item.update(fields)
    return item


@pytest.mark.django_db
def test_it_journals_every_item_with_raw_token_bot_channel_and_outcome(account):
    token, _secret = make_token(account)
    record(accounts=[account], items=[fill(1, bot="paper:a")], token=token, item_type="fill")
    record(accounts=[account], items=[fill(1, bot="paper:a")], token=token, item_type="fill", channel="ingest.bybit")
    first, second = Event.objects.filter(account=account).order_by("id")
    assert (first.outcome, second.outcome) == ("created", "duplicate")
    assert (first.channel, second.channel) == ("api", "ingest.bybit")
    assert first.token == token and first.bot.key == "paper:a" and first.type == "fill" and first.item_key == "f1"
    assert first.raw == fill(1, bot="paper:a")
    assert first.received_at is not None


@pytest.mark.django_db
def test_bots_are_registered_once_per_account_from_bot_or_bot_id(account, other_account):
    record(accounts=[account], items=[fill(1, bot="paper:a"), fill(2, bot_id="paper:a"), fill(3, bot="live:b")],
           item_type="fill")
    record(accounts=[other_account], items=[fill(1, bot="paper:a")], item_type="fill")
    assert sorted(Bot.objects.filter(account=account).values_list("key", flat=True)) == ["live:b", "paper:a"]
    assert Bot.objects.filter(account=other_account).count() == 1
    assert Fill.objects.get(account=account, external_id="f2").bot.key == "paper:a"


@pytest.mark.django_db
def test_the_source_defaults_from_the_channel(account):
    record(accounts=[account], items=[fill(1)], item_type="fill", channel="ingest.ccxt")
    record(accounts=[account], items=[fill(2)], item_type="fill", channel="import_events")
    record(accounts=[account], items=[fill(3, source="exchange")], item_type="fill")
    assert dict(Fill.objects.values_list("external_id", "source")) == {"f1": "exchange", "f2": "import",
                                                                        "f3": "exchange"}


@pytest.mark.django_db
def test_the_books_follow_created_fills_and_voids_in_the_same_transaction(account):
    record(accounts=[account], items=[fill(1), fill(2, side="sell", price="110", quantity="0.5")], item_type="fill")
    state = PositionState.objects.get(account=account, symbol="BTCUSDT")
    assert state.quantity == Decimal("0.5") and state.realized_pnl == Decimal("5")
    record(accounts=[account], items=[{"id": "f2", "symbol": "BTCUSDT", "reason": "wrong"}], item_type="fill.void")
    state = PositionState.objects.get(account=account, symbol="BTCUSDT")
    assert state.quantity == Decimal("1") and state.realized_pnl == Decimal("0")


@pytest.mark.django_db
def test_a_conflict_anywhere_writes_nothing_of_a_mixed_request(account):
    record(accounts=[account], items=[fill(1)], item_type="fill")
    before = (Fill.objects.count(), Trade.objects.count(), Event.objects.count())
    items = [
        {"type": "trade.open", "id": "t1", "symbol": "BTCUSDT", "side": "long", "quantity": "1",
         "entry_price": "100", "entry_time": 1767225600000},
        {"type": "fill", **fill(2)},
        {"type": "fill", **fill(1, price="101")},
    ]
    with pytest.raises(TradebookError) as caught:
        record(accounts=[account], items=items)
    assert caught.value.status == 409
    assert caught.value.errors == [{"index": 2, "field": "price", "message": caught.value.errors[0]["message"]}]
    assert (Fill.objects.count(), Trade.objects.count(), Event.objects.count()) == before


@pytest.mark.django_db
def test_the_same_key_twice_in_one_request_is_created_then_duplicate_or_409(account):
    result = record(accounts=[account], items=[fill(1), fill(1, price="100.0")], item_type="fill")
    assert [r["status"] for r in result.results] == ["created", "duplicate"]
    with pytest.raises(TradebookError) as caught:
        record(accounts=[account], items=[fill(5), fill(5, price="99")], item_type="fill")
    assert caught.value.status == 409 and caught.value.errors[0]["index"] == 1


@pytest.mark.django_db
def test_accounts_are_resolved_within_the_scope(account, other_account):
    third = make_account("delta")
    with pytest.raises(TradebookError) as caught:
        record(accounts=[account, other_account], items=[fill(1)], item_type="fill")
    assert caught.value.status == 400 and caught.value.errors[0]["field"] == "account"
    with pytest.raises(TradebookError) as caught:
        record(accounts=[account], items=[fill(1, account="delta")], item_type="fill")
    assert caught.value.status == 404
    assert "delta" in caught.value.errors[0]["message"]
    result = record(accounts=[account, other_account], items=[fill(1, account="charlie"), fill(2)],
                    item_type="fill", default_account=account)
    assert result.counts["created"] == 2
    assert Fill.objects.get(external_id="f1").account == other_account
    assert Fill.objects.get(external_id="f2").account == account
    assert not Fill.objects.filter(account=third).exists()


@pytest.mark.django_db
def test_typed_items_and_the_older_jsonl_lines(account):
    items = [
        {"type": "fill", **fill(1)},
        {"type": "metric", "equity": "10010", "cash": "10000", "timestamp": "2026-01-01T00:00:00", "bot_id": "p:x"},
        {"type": "log", "message": "started"},
    ]
    result = record(accounts=[account], items=items, channel="import_events")
    assert [r["status"] for r in result.results] == ["created", "created", "created"]
    assert list(Event.objects.order_by("id").values_list("type", flat=True)) == ["fill", "equity", "log"]
    # The journal keeps the line as it was posted, before translation.
    assert Event.objects.get(type="equity").raw["type"] == "metric"


@pytest.mark.django_db
def test_every_validation_error_at_once(account):
    items = [fill(1, side="up"), "not an object", {"type": "fill"}, fill(2, executed_at="soon", price="0")]
    with pytest.raises(TradebookError) as caught:
        record(accounts=[account], items=items, item_type="fill")
    assert caught.value.status == 400
    assert {(e["index"], e["field"]) for e in caught.value.errors} >= {
        (0, "side"), (1, None), (2, "id"), (2, "symbol"), (3, "executed_at"), (3, "price")}
    assert Event.objects.count() == 0


def test_the_journal_json_keeps_every_digit():
    assert dumps({"a": Decimal("0.100000000000000000001"), "b": [1, True, None, "x\u00e9"]}) == \
        '{"a":0.100000000000000000001,"b":[1,true,null,"x\u00e9"]}'


@pytest.mark.django_db
def test_a_log_line_with_an_id_is_journaled_as_a_duplicate_when_posted_again(account):
    line = {"type": "log", "id": "L-1", "message": "started", "level": "info"}
    first = record(accounts=[account], items=[line, line])
    again = record(accounts=[account], items=[line])
    assert [r["status"] for r in first.results] == ["created", "duplicate"]
    assert again.results == [{"index": 0, "status": "duplicate", "id": "L-1"}]
    assert record(accounts=[account], items=[{**line, "id": "L-2"}]).counts["created"] == 1
    # Without an id every line is a line of its own.
    plain = {"type": "log", "message": "tick"}
    assert record(accounts=[account], items=[plain, plain]).counts["created"] == 2


@pytest.mark.django_db
def test_a_resent_open_update_close_of_one_trade_is_all_duplicates(account):
    batch = [
        {"type": "trade.open", "id": "T9", "symbol": "BTCUSDT", "side": "long", "quantity": "1",
         "entry_price": "100", "entry_time": "2026-01-01T00:00:00Z"},
        {"type": "trade.update", "id": "T9", "sl_price": "95"},
        {"type": "trade.close", "id": "T9", "exit_price": "110", "exit_time": "2026-01-01T01:00:00Z"},
    ]
    assert [r["status"] for r in record(accounts=[account], items=batch).results] == ["created", "updated", "updated"]
    # The answer was lost; the bot sends the same batch again.
    assert [r["status"] for r in record(accounts=[account], items=batch).results] == [
        "duplicate", "duplicate", "duplicate"]
    with pytest.raises(TradebookError) as refused:  # a real change to a closed trade is still refused
        record(accounts=[account], items=[{"type": "trade.update", "id": "T9", "sl_price": "90"}])
    assert refused.value.status == 409
