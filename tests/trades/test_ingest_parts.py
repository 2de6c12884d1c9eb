"""trades.ingest checks and sends a request in parts (PostgreSQL: pipelined): the answer and
what is kept are those of one request, whatever the parts."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.models import Bot
from core.errors import TradebookError
from core.sql import inserts, statements
from snapshots.models import Mark
from tests.factories import make_account
from trades.ingest import record, service
from trades.models import Event, Fill, PositionState, Trade


def fill(n: int, **fields) -> dict:
    item = {"id": f"f{n}", "symbol": "BTCUSDT", "side": "buy", "price": "100", "quantity": "1",
            "executed_at": 1767225600000 + n * 1000}
    item.update(fields)
    return item


@pytest.fixture
def parts_of_three(monkeypatch):
    monkeypatch.setattr(service, "PART", 3)


def stored() -> tuple:
    return (sorted(Fill.objects.values_list("account__slug", "external_id", "price")),
            list(Event.objects.order_by("id").values_list("type", "item_key", "outcome")),
            sorted(PositionState.objects.values_list("account__slug", "symbol", "quantity", "realized_pnl")),
            sorted(Trade.objects.values_list("external_id", "status")))


def mixed_request() -> list[dict]:
    return [
        {"type": "trade.open", "id": "t1", "symbol": "BTCUSDT", "side": "long", "quantity": "1",
         "entry_price": "100", "entry_time": 1767225600000},
        {"type": "fill", **fill(1, bot="paper:a")},
        {"type": "fill", **fill(2, side="sell", price="110", quantity="0.5", bot="paper:b")},
        {"type": "mark", "symbol": "BTCUSDT", "price": "105", "ts": 1767225700000},
        {"type": "fill", **fill(1, price="100.000", bot="paper:a")},  # the same fill again, later part
        {"type": "fill", **fill(3, account="charlie", bot="paper:c")},
        {"type": "trade.close", "id": "t1", "exit_price": "110", "exit_time": 1767225800000},
        {"type": "fill", **fill(4, symbol="ETHUSDT", price="10")},
        {"type": "log", "message": "done"},
        {"type": "fill", **fill(5, account="charlie", symbol="ETHUSDT", side="sell", price="9")},
    ]


@pytest.mark.django_db(transaction=True)
def test_a_request_in_parts_answers_and_keeps_what_one_part_does(account, other_account, monkeypatch):
    scope = [account, other_account]
    def answer() -> dict:  # row ids (of a mark, a log line) are the database's, not the answer's
        result = record(accounts=scope, items=mixed_request(), default_account=account).as_dict()
        for r in result["results"]:
            r["id"] = None if isinstance(r["id"], int) else r["id"]
        return result

    whole = answer()
    kept = stored()
    for model in (Event, Fill, Trade, PositionState, Mark):
        model.objects.all().delete()
    monkeypatch.setattr(service, "PART", 3)
    in_parts = answer()
    assert in_parts == whole
    assert [r["status"] for r in in_parts["results"]] == [
        "created", "created", "created", "created", "duplicate", "created", "updated", "created", "created", "created"]
    assert stored() == kept
    # The journal is in posted order across the parts.
    assert [t for t, _k, _o in kept[1]] == ["trade.open", "fill", "fill", "mark", "fill", "fill", "trade.close",
                                            "fill", "log", "fill"]


@pytest.mark.django_db
def test_a_replay_in_parts_is_all_duplicates_and_a_stored_key_changed_in_a_late_part_is_a_409(account, parts_of_three):
    items = [fill(n) for n in range(10)]
    assert record(accounts=[account], items=items, item_type="fill").counts["created"] == 10
    replay = record(accounts=[account], items=items, item_type="fill")
    assert replay.counts == {"created": 0, "duplicate": 10, "updated": 0}
    before = stored()
    changed = [fill(n) for n in range(10, 17)] + [fill(8, quantity="2")]
    with pytest.raises(TradebookError) as caught:
        record(accounts=[account], items=changed, item_type="fill")
    assert caught.value.status == 409
    assert [(e["index"], e["field"]) for e in caught.value.errors] == [(7, "quantity")]
    assert stored() == before  # the parts sent before the conflict was found are rolled back


@pytest.mark.django_db
def test_the_same_key_in_two_parts_counts_once_or_is_a_409(account, parts_of_three):
    result = record(accounts=[account], items=[fill(1), fill(2), fill(3), fill(4), fill(1, price="100.0")],
                    item_type="fill")
    assert [r["status"] for r in result.results] == ["created"] * 4 + ["duplicate"]
    assert Fill.objects.count() == 4
    with pytest.raises(TradebookError) as caught:
        record(accounts=[account], items=[fill(7), fill(8), fill(9), fill(7, price="99")], item_type="fill")
    assert caught.value.status == 409 and caught.value.errors[0]["index"] == 3
    assert Fill.objects.count() == 4


@pytest.mark.django_db
def test_errors_of_every_part_at_once_and_nothing_written(account, parts_of_three):
    items = ([fill(n) for n in range(7)] + [fill(7, side="up")] + [fill(8, fee="1", fees=[["1", "USDT"]])]
             + [fill(9, price="0")])
    items[1]["quantity"] = "-1"
    with pytest.raises(TradebookError) as caught:
        record(accounts=[account], items=items, item_type="fill")
    assert caught.value.status == 400
    assert [(e["index"], e["field"]) for e in caught.value.errors] == [
        (1, "quantity"), (7, "side"), (8, "fees"), (9, "price")]
    assert stored() == ([], [], [], [])


@pytest.mark.django_db
def test_a_bad_item_in_the_last_part_writes_nothing_of_the_parts_before(account, parts_of_three):
    items = [fill(n, bot=f"paper:{n}") for n in range(9)] + [fill(9, executed_at="soon")]
    with pytest.raises(TradebookError) as caught:
        record(accounts=[account], items=items, item_type="fill")
    assert [(e["index"], e["field"]) for e in caught.value.errors] == [(9, "executed_at")]
    assert stored() == ([], [], [], []) and not Bot.objects.exists()


@pytest.mark.django_db
def test_an_account_outside_the_scope_in_a_late_part_is_a_404_and_nothing_is_written(account, parts_of_three):
    make_account("delta")
    items = [fill(n) for n in range(7)] + [fill(7, account="delta", price="x")]
    with pytest.raises(TradebookError) as caught:
        record(accounts=[account], items=items, item_type="fill")
    assert caught.value.status == 404
    assert caught.value.errors == [{"index": 7, "field": "account", "message": "no account 'delta'"}]
    assert stored() == ([], [], [], [])


@pytest.mark.django_db
def test_bots_first_seen_in_a_late_part_are_registered(account, parts_of_three):
    items = [fill(n, bot=f"paper:{n % 4}") for n in range(10)]
    record(accounts=[account], items=items, item_type="fill")
    assert sorted(Bot.objects.values_list("key", flat=True)) == ["paper:0", "paper:1", "paper:2", "paper:3"]
    assert Fill.objects.get(external_id="f9").bot.key == "paper:1"
    assert Event.objects.get(item_key="f9").bot.key == "paper:1"
    state = PositionState.objects.get(account=account, symbol="BTCUSDT")
    assert state.quantity == Decimal(10)


@pytest.mark.django_db
def test_parts_are_sent_without_waiting_on_postgresql(account, parts_of_three, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("pipeline mode: PostgreSQL")
    modes = []
    send = inserts.send_prepared

    def spy(statement, params):  # the fills INSERTs (every insert of the write path comes this way)
        if statement.startswith(f'INSERT INTO "{Fill._meta.db_table}"'):
            modes.append(bool(connection.connection.pgconn.pipeline_status))
        return send(statement, params)

    monkeypatch.setattr(inserts, "send_prepared", spy)
    record(accounts=[account], items=[fill(n) for n in range(7)], item_type="fill")
    assert modes == [True, True, True]  # three parts, each one INSERT sent inside the pipeline
    modes.clear()
    record(accounts=[account], items=[fill(n) for n in range(10, 13)], item_type="fill")
    assert modes == [False]  # one part: nothing to overlap, no pipeline
    assert Fill.objects.count() == 10


@pytest.mark.django_db(transaction=True)
def test_a_statement_refused_in_the_pipeline_is_djangos_error_and_rolls_back(account):
    record(accounts=[account], items=[fill(1)], item_type="fill")
    row = inserts.full_row(Fill, {"account_id": account.pk, "symbol": "BTCUSDT", "external_id": "f1", "side": "buy",
                              "price": Decimal(1), "quantity": Decimal(1), "executed_at": Fill.objects.get().executed_at,
                              "received_at": Fill.objects.get().received_at})
    fresh = {**row, "external_id": "f2"}
    with pytest.raises(IntegrityError), transaction.atomic(), statements.pipelined():
        inserts.send_rows(Fill, [fresh], on_conflict=False)
        inserts.send_rows(Fill, [row], on_conflict=False)()  # the unique key: refused
    assert list(Fill.objects.values_list("external_id", flat=True)) == ["f1"]  # f2 rolled back too
    assert record(accounts=[account], items=[fill(2)], item_type="fill").counts["created"] == 1


def _journal_modes(monkeypatch) -> list[bool]:
    """Whether each journal INSERT was sent inside the pipeline (PostgreSQL)."""
    modes = []
    send = inserts.send_prepared

    def spy(statement, params):
        if statement.startswith(f'INSERT INTO "{Event._meta.db_table}"'):
            modes.append(bool(connection.connection.pgconn.pipeline_status))
        return send(statement, params)

    monkeypatch.setattr(inserts, "send_prepared", spy)
    return modes


@pytest.mark.django_db
def test_the_journal_goes_in_the_pipeline_while_the_books_are_computed(account, parts_of_three, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("pipeline mode: PostgreSQL")
    modes = _journal_modes(monkeypatch)
    def fills(numbers) -> list[dict]:
        return [{"type": "fill", **fill(n)} for n in numbers]

    record(accounts=[account], items=fills(range(7)) + [{"type": "log", "message": "hi"}])
    assert modes == [True]
    log = Event.objects.get(type="log")
    assert record(accounts=[account], items=fills(range(7))).counts["duplicate"] == 7
    # The log line's answer names its journal row, read back from the pipeline.
    result = record(accounts=[account], items=fills(range(20, 24)) + [{"type": "log", "message": "x"}])
    assert result.results[-1]["id"] == Event.objects.filter(type="log").exclude(pk=log.pk).get().pk
    state = PositionState.objects.get(account=account, symbol="BTCUSDT")
    assert state.quantity == Decimal(11) and state.fill_count == 11


@pytest.mark.django_db
@pytest.mark.parametrize("rebuild", ["older fill", "void"])
def test_a_request_in_parts_that_rebuilds_a_symbol_runs_outside_the_pipeline(account, parts_of_three, monkeypatch,
                                                                           rebuild):
    # Rebuilding a symbol reads its fills by COPY, which PostgreSQL's pipeline refuses: such a
    # request journals outside it, and the books are what a replay from scratch gives.
    record(accounts=[account], items=[fill(n, price=str(100 + n)) for n in range(10, 14)], item_type="fill")
    modes = _journal_modes(monkeypatch)
    items = [{"type": "fill", **fill(n, side="sell", price="120", quantity="0.5")} for n in range(20, 24)]
    if rebuild == "older fill":
        items.append({"type": "fill", **fill(1, price="90")})
    else:
        items.append({"type": "fill.void", "id": "f11", "symbol": "BTCUSDT", "reason": "test"})
    assert record(accounts=[account], items=items).counts["created"] + (rebuild == "void") == 5
    assert modes == [False] * bool(connection.vendor == "postgresql")
    from trades import books

    state = PositionState.objects.get(account=account, symbol="BTCUSDT")
    kept = (state.quantity, state.average_price, state.realized_pnl, state.fill_count)
    books.recompute_symbols(account=account, symbols=["BTCUSDT"])
    state.refresh_from_db()
    assert kept == (state.quantity, state.average_price, state.realized_pnl, state.fill_count)
    assert kept[0] == (Decimal(3) if rebuild == "older fill" else Decimal(1))  # 4 bought, 2 sold, +1 or -1


@pytest.mark.django_db
def test_books_that_overflow_in_a_request_of_parts_are_a_400_and_nothing_is_kept(account, parts_of_three):
    # On PostgreSQL the books' UPDATE is refused inside the pipeline, after the journal was sent.
    big = "99999999999999999999"
    record(accounts=[account], items=[fill(1, price="1", quantity=big)], item_type="fill")
    with pytest.raises(TradebookError) as refused:
        record(accounts=[account], items=[fill(n, price="1", quantity=big if n == 6 else "1") for n in range(2, 9)],
               item_type="fill")
    assert refused.value.status == 400 and "numeric(38,18)" in str(refused.value)
    assert Fill.objects.count() == 1 and Event.objects.count() == 1
    assert PositionState.objects.get(account=account).quantity == Decimal(big)
