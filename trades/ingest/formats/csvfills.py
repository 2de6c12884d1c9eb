"""A CSV of fills → canonical fill items (import_csv).

The header row names columns with the fill's field names of SPEC 4.1 (id, symbol,
side, price, quantity, fee, fee_currency, order_id, trade_id, is_maker,
executed_at, reported_pnl, reason, source, bot); the required ones must be there.
`fees` and `meta` hold JSON (as `export --format csv` writes them); other columns
pass through (ingest keeps them in meta). Empty cells are left out. A row with
`voided_at` is followed by its `fill.void`, so an exported ledger re-imports with
the same booked content. Errors name the line (the header is line 1).
"""

import csv
from collections.abc import Iterable

from core.errors import TradebookError
from core.exact_json import loads_exact  # JSON numbers exact, as the API reads them

REQUIRED = ("id", "symbol", "side", "price", "quantity", "executed_at")
BOOLEAN = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
# Columns the export writes that are the server's, not the fill's.
SERVER_COLUMNS = {"account", "received_at", "voided_at", "void_reason"}


def translate(lines: Iterable[str], *, name: str = "CSV") -> tuple[list[dict], list[int]]:
    """CSV text lines → (items, line number of each item). Raises TradebookError naming every bad line."""
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        raise TradebookError(f"{name}, line 1: empty file: a header row of field names is needed")
    except csv.Error as exc:
        raise TradebookError(f"{name}, line 1: {exc}")
    header = [column.strip() for column in header]
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise TradebookError(f"{name}, line 1: missing column(s) {', '.join(missing)} "
                             f"(the header names the fill's fields: {', '.join(REQUIRED)}, …)", field=missing[0])
    items: list[dict] = []
    lines_of: list[int] = []
    errors: list[dict] = []
    try:
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                errors.append({"index": None, "field": None,
                               "message": f"{name}, line {number}: {len(row)} cells, the header has {len(header)}"})
                continue
            try:
                fill, void = _row(dict(zip(header, row, strict=True)))
            except ValueError as exc:
                field, message = exc.args
                errors.append({"index": None, "field": field, "message": f"{name}, line {number}: {field}: {message}"})
                continue
            items.append(fill)
            lines_of.append(number)
            if void is not None:
                items.append(void)
                lines_of.append(number)
    except csv.Error as exc:
        errors.append({"index": None, "field": None, "message": f"{name}, line {reader.line_num}: {exc}"})
    if errors:
        raise TradebookError(errors)
    return items, lines_of


def _row(row: dict) -> tuple[dict, dict | None]:
    item: dict = {"type": "fill"}
    meta_text = row.get("meta", "").strip()
    if meta_text:
        try:
            meta = loads_exact(meta_text)
        except ValueError as exc:
            raise ValueError("meta", f"is not JSON: {exc}")
        if not isinstance(meta, dict):
            raise ValueError("meta", "must be a JSON object")
        # Restore what ingest kept in meta as the unknown fields it came from.
        item.update({k: v for k, v in meta.items() if k not in row})
    for column, text in row.items():
        value = text.strip()
        if not column or column in SERVER_COLUMNS or column == "meta" or value == "":
            continue
        if column == "fees":
            try:
                item["fees"] = loads_exact(value)
            except ValueError as exc:
                raise ValueError("fees", f"is not JSON: {exc}")
        elif column == "is_maker":
            if value.lower() not in BOOLEAN:
                raise ValueError("is_maker", "must be true or false")
            item["is_maker"] = BOOLEAN[value.lower()]
        else:
            item[column] = value
    item.setdefault("source", "import")
    void = None
    if row.get("voided_at", "").strip():
        void = {"type": "fill.void", "id": item.get("id"), "symbol": item.get("symbol"),
                "reason": row.get("void_reason", "").strip() or "voided before export"}
    return item, void
