"""trades.ingest.formats.csvfills: CSV lines → canonical fills (pure)."""

import pytest

from core.errors import TradebookError
from trades.ingest.formats import csvfills

HEADER = "id,symbol,side,price,quantity,executed_at"


def test_rows_become_fills_and_empty_cells_are_left_out():
    items, lines = csvfills.translate([HEADER + ",fee,is_maker,note", "a,X,buy,1.5,2,2026-01-01,,yes,hello"])
    assert items == [{"type": "fill", "id": "a", "symbol": "X", "side": "buy", "price": "1.5", "quantity": "2",
                      "executed_at": "2026-01-01", "is_maker": True, "note": "hello", "source": "import"}]
    assert lines == [2]


def test_meta_and_fees_columns_are_json_and_a_void_follows():
    rows = [HEADER + ',fees,meta,voided_at,void_reason,account,received_at',
            'a,X,sell,1,1,2026-01-01,"[{""amount"": ""0.1"", ""currency"": ""BNB""}]","{""venue"": ""A""}",'
            '2026-01-02,dup,alpha,2026-01-01']
    fill, void = csvfills.translate(rows)[0]
    assert fill["fees"] == [{"amount": "0.1", "currency": "BNB"}] and fill["venue"] == "A"
    assert "account" not in fill and "received_at" not in fill and "voided_at" not in fill
    assert void == {"type": "fill.void", "id": "a", "symbol": "X", "reason": "dup"}


@pytest.mark.parametrize("lines, message", [
    ([], "line 1: empty file"),
    (["id,symbol,side"], "line 1: missing column(s) price, quantity, executed_at"),
    ([HEADER, "a,X,buy,1,1"], "line 2: 5 cells, the header has 6"),
    ([HEADER + ",meta", "a,X,buy,1,1,t,{bad"], "line 2: meta: is not JSON"),
    ([HEADER + ",is_maker", "", "a,X,buy,1,1,t,maybe"], "line 3: is_maker: must be true or false"),
])
def test_errors_name_the_line(lines, message):
    with pytest.raises(TradebookError) as caught:
        csvfills.translate(lines, name="f.csv")
    assert message in str(caught.value) and "f.csv" in str(caught.value)
