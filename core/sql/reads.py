"""Rows read by our own SQL, loaded as the ORM would load them."""

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

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
