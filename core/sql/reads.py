"""Rows read by our own SQL, loaded as the ORM would load them."""

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeVar

from django.db import connection, models
from django.db.models.expressions import Col
from django.utils.dateparse import parse_datetime


def from_db(field: models.Field, value):
    """A raw value read by our own SQL -> the Python value the ORM would give."""
    if value is None:
        return None
    if isinstance(field, models.DateTimeField) and isinstance(value, str):
        parsed = parse_datetime(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(field, models.DateTimeField) and isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(field, models.DecimalField) and not isinstance(value, Decimal):
        return Decimal(str(value))
    return value


class RowLoader:
    """Model instances from rows of our own SQL, converted exactly as the ORM converts them.

    The ORM spends more building a small query than the database spends answering it;
    the hot path (auth, the books' state lock) writes the SQL once and loads the rows here.
    `columns` is the SELECT list (qualified with `alias`), in the order the rows hold them.
    """

    def __init__(self, model: type[models.Model], alias: str | None = None):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        alias = alias or model._meta.db_table
        self.columns = ", ".join(f"{connection.ops.quote_name(alias)}.{connection.ops.quote_name(f.column)}"
                                 for f in self.fields)
        self._cols = [Col(alias, f) for f in self.fields]
        self._converters = None

    def _converters_for_connection(self):
        if self._converters is None:
            self._converters = [
                (col, connection.ops.get_db_converters(col) + col.get_db_converters(connection))
                for col in self._cols
            ]
        return self._converters

    def load(self, row: Sequence) -> models.Model:
        values = []
        for value, (col, converters) in zip(row, self._converters_for_connection(), strict=True):
            for convert in converters:
                value = convert(value, col, connection)
            values.append(value)
        return self.model.from_db(connection.alias, self.attnames, values)


def amounts_sum_in_sql() -> bool:
    """Whether the database sums amounts exactly: PostgreSQL's numeric does; SQLite keeps them as
    text (core.fields.AmountField), so there they are summed in Python with Decimal."""
    return connection.vendor == "postgresql"


T = TypeVar("T")


def copy_out(query, make_row: Callable[[list[str | None]], T]) -> Iterator[T]:
    """PostgreSQL: the rows of `COPY (…) TO STDOUT` (text format), each made by `make_row` from the
    list of its fields as text, None for NULL — the caller converts only what it needs.

    Read in blocks and split here: psycopg's row-by-row reader costs about three times as much
    per row (the read bench's recompute prints what this path does), and the books' recompute
    and replay are as fast as this read."""
    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(query) as copy:
        rest = b""
        for block in copy:
            lines = (rest + bytes(block)).split(b"\n")
            rest = lines.pop()
            for line in lines:
                text = line.decode()
                nulls = text.count("\\N")
                if text.count("\\") > nulls:  # a value holding a tab, a newline or a backslash
                    yield make_row([_copy_field(field) for field in text.split("\t")])
                elif nulls:
                    yield make_row([None if field == "\\N" else field for field in text.split("\t")])
                else:
                    yield make_row(text.split("\t"))


_COPY_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def _copy_field(text: str) -> str | None:
    """One field of COPY's text format: `\\N` is NULL; backslash escapes undone."""
    if text == "\\N":
        return None
    if "\\" not in text:
        return text
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(_COPY_ESCAPES.get(text[i + 1], text[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)
