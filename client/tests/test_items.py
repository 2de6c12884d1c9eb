"""Items are checked and written exactly before they are queued (no server needed)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tradebook_client import Client, ItemError, Unavailable
from tradebook_client._items import amount_text, normalize, time_text

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("12345678.901234567"), "12345678.901234567"),  # 17 significant digits
    (Decimal("0.12345678901234567"), "0.12345678901234567"),
    (Decimal("1E-8"), "0.00000001"),
    (Decimal("1.500"), "1.500"),
    ("42000.10", "42000.10"),
    ("1e-8", "1e-8"),
    (3, "3"),
    (-7, "-7"),
    (0.1, "0.1"),  # not 0.1000000000000000055511151231257827
    (0.1 + 0.2, "0.30000000000000004"),  # the float's own shortest decimal, nothing rounded away
    (2000.1, "2000.1"),
    (1e-8, "0.00000001"),
    (1.2345678901234567e20, "123456789012345670000"),
])
def test_numbers_go_out_as_exact_decimal_text(value, text):
    assert amount_text(value) == text
    assert Decimal(text) == (value if isinstance(value, Decimal) else Decimal(repr(value)) if isinstance(value, float)
                             else Decimal(value))


@pytest.mark.parametrize("value", ["1 000", "1_000", "+1", "NaN", "Infinity", "١٢", "", "0x10", float("nan"),
                                   float("inf"), Decimal("NaN"), True, None, [1]])
def test_it_refuses_what_is_not_a_decimal(value):
    with pytest.raises(ItemError):
        amount_text(value, "price")


def test_times_go_out_as_utc_iso():
    expected = "2023-11-14T22:13:20.500000Z"
    assert time_text(1700000000.5) == expected  # epoch seconds (below 1e11), a fraction allowed
    assert time_text(1700000000500) == expected  # epoch milliseconds (from 1e11 on)
    assert time_text(Decimal("1700000000.5")) == expected
    assert time_text("1700000000500") == expected
    assert time_text(datetime(2023, 11, 14, 22, 13, 20, 500000)) == expected  # naive = UTC
    cet = timezone(timedelta(hours=1))
    assert time_text(datetime(2023, 11, 14, 23, 13, 20, 500000, tzinfo=cet)) == expected
    assert time_text("2023-11-14T23:13:20.5+01:00") == expected
    assert time_text("2023-11-14 22:13:20.500000") == expected  # naive ISO = UTC
    assert time_text("2023-11-14T22:13:20.500000123Z") == expected  # past microseconds: cut, as tradebook does
    assert time_text(date(2023, 11, 14)) == "2023-11-14T00:00:00Z"


@pytest.mark.parametrize("value", [0, 946684799, "1999-12-31T23:59:59Z", datetime(1970, 1, 1), "yesterday",
                                   "2023-13-01T00:00:00Z", 10**20])
def test_it_refuses_a_time_before_2000_or_unreadable(value):
    with pytest.raises(ItemError) as refused:
        time_text(value, "executed_at")
    assert refused.value.field == "executed_at"


def test_a_wrong_unit_says_how_it_was_read():
    with pytest.raises(ItemError, match="read as epoch seconds is 1970"):
        time_text(1_700_000, "ts")


def test_items_name_their_missing_field():
    with pytest.raises(ItemError) as refused:
        normalize("fill", {"id": "1", "symbol": "BTCUSDT", "side": "buy", "price": "1", "executed_at": 1700000000})
    assert refused.value.field == "quantity"
    with pytest.raises(ItemError, match="side"):
        normalize("fill", {"id": "1", "symbol": "X", "side": "BUY", "price": 1, "quantity": 1, "executed_at": 1.7e9})
    with pytest.raises(ItemError, match="value"):
        normalize("signal", {"symbol": "X", "value": 2, "generated_at": 1.7e9})


def test_fees_and_unknown_fields():
    item = normalize("fill", {"id": "1", "symbol": "X", "side": "sell", "price": 0.1, "quantity": Decimal("2"),
                              "executed_at": 1.7e9, "fees": [{"amount": 0.01, "currency": "BNB"}],
                              "note": {"at": Decimal("0.5")}})
    assert item["type"] == "fill"
    assert item["fees"] == [{"amount": "0.01", "currency": "BNB"}]
    assert item["note"] == {"at": Decimal("0.5")}  # unknown fields go out as given (Decimal as text)


def test_queued_items_carry_type_account_bot_and_a_client_id(spool):
    client = Client("http://127.0.0.1:9", "tb_x", account="acct", bot="paper:X", spool=spool, flush_interval=3600)
    try:
        signal = client.signal(symbol="BTCUSDT", value=-1, generated_at=1.7e9, strength=0.25)
        log = client.log("started", level="warning", version="1.2")
        fill = client.fill(id=7, symbol="BTCUSDT", side="buy", price=1, quantity=1, executed_at=1.7e9, bot="other")
        assert signal["id"].startswith("c-") and log["id"].startswith("c-") and signal["id"] != log["id"]
        assert signal["account"] == "acct" and signal["bot"] == "paper:X" and fill["bot"] == "other"
        assert log["level"] == "warning" and log["ts"].endswith("Z")
        stored = [json.loads(entry.body) for entry in client._queue.head(10)]
        assert stored == [signal, log, fill]  # the id is in the spool with the item: a retry sends the same
        with pytest.raises(ItemError):
            client.enqueue([{"type": "mark", "symbol": "X", "price": 1, "ts": 1.7e9}, {"type": "nope"}])
        assert client.pending() == 3  # a refused call queues none of its items
    finally:
        with pytest.raises(Unavailable):  # nothing listens there: the items stay in the spool
            client.close(timeout=0)
