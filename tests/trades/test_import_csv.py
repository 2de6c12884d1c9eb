"""import_csv: fills from a CSV whose header names our fields."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import TextField
from django.db.models.functions import Cast

from core.exact_json import loads_exact
from trades.models import Event, Fill

pytestmark = pytest.mark.django_db

GOOD = """id,symbol,side,price,quantity,fee,fee_currency,executed_at,order_id,is_maker,bot,venue
t-1,BTCUSDT,buy,42000.123456789012345678,0.5,0.021,USDT,2026-01-02T00:00:00Z,o-1,true,manual:desk,A
t-2,BTCUSDT,sell,42100,0.5,,,1767319200000,,false,,B

t-3,ETHUSDT,buy,2500,1,0.5,USDT,2026-01-02 03:00:00,,,,
"""


def run(path, account="alpha") -> str:
    out = StringIO()
    call_command("import_csv", str(path), "--account", account, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_it_imports_fills(account, tmp_path):
    path = tmp_path / "fills.csv"
    path.write_text(GOOD)
    assert "3 created" in run(path)
    first = Fill.objects.get(external_id="t-1")
    assert (first.price, first.quantity, first.fee, first.fee_currency, first.is_maker) == (
        Decimal("42000.123456789012345678"), Decimal("0.5"), Decimal("0.021"), "USDT", True)
    assert first.bot.key == "manual:desk" and first.meta == {"venue": "A"} and first.source == "import"
    second = Fill.objects.get(external_id="t-2")
    assert (second.fee, second.is_maker, second.order_id) == (0, False, "")
    assert Event.objects.filter(channel="import_csv").count() == 3
    assert "0 created, 3 duplicate" in run(path)


def test_a_missing_column_is_named(account, tmp_path):
    path = tmp_path / "fills.csv"
    path.write_text("id,symbol,side,price,executed_at\nx,BTCUSDT,buy,1,2026-01-01\n")
    with pytest.raises(CommandError, match=r"line 1: missing column\(s\) quantity"):
        run(path)


def test_a_bad_row_names_its_line_and_nothing_is_written(account, tmp_path):
    path = tmp_path / "fills.csv"
    path.write_text(GOOD.replace("t-3,ETHUSDT,buy,2500", "t-3,ETHUSDT,buy,lots"))
    with pytest.raises(CommandError) as caught:
        run(path)
    assert "line 5" in str(caught.value) and "price" in str(caught.value)
    assert Fill.objects.count() == 0
    path.write_text(GOOD.replace("o-1,true", "o-1,perhaps"))
    with pytest.raises(CommandError, match="line 2: is_maker"):
        run(path)
    path.write_text(GOOD.replace("o-1,true,manual:desk,A", "o-1,true"))
    with pytest.raises(CommandError, match="line 2: 10 cells"):
        run(path)


def test_it_imports_only_into_the_named_account(account, other_account, tmp_path):
    path = tmp_path / "fills.csv"
    path.write_text(GOOD)
    run(path, "charlie")
    assert not Fill.objects.filter(account=account).exists()
    assert Fill.objects.filter(account=other_account).count() == 3


def test_json_cells_keep_every_digit_of_their_numbers(account, tmp_path):
    """`fees` and `meta` are JSON: their numbers are read exactly, as the API reads a body (a
    float would keep 17 significant digits and turn 0.123456789012345678 into ...68 rounded)."""
    path = tmp_path / "fills.csv"
    path.write_text('id,symbol,side,price,quantity,executed_at,fees,meta\n'
                    't-9,BTCUSDT,buy,1,1,2026-01-02T00:00:00Z,'
                    '"[{""amount"": 0.123456789012345678, ""currency"": ""USDT""}, '
                    '{""amount"": 12345678901234567.5, ""currency"": ""BNB""}]",'
                    '"{""score"": 0.12345678901234567890}"\n')
    run(path)
    stored = Fill.objects.get(external_id="t-9")
    assert stored.fee == Decimal("0.123456789012345678") and stored.fee_currency == "USDT"
    assert stored.other_fees == [{"amount": "12345678901234567.5", "currency": "BNB"}]
    journal = Event.objects.filter(channel="import_csv").annotate(text=Cast("raw", TextField())).get()
    assert loads_exact(journal.text)["score"] == Decimal("0.12345678901234567890")
