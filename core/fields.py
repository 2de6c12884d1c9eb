"""AmountField: money and quantities, exact on every database.

PostgreSQL stores `numeric(38,18)`. SQLite's NUMERIC affinity keeps only about
15 significant digits, so there the column is TEXT holding the canonical decimal
string (see `core.amounts.decimal_str`): every digit survives. Values are
quantized to 18 places here, once, so both databases store the same number.
Consequence on SQLite: ORDER BY and SUM over these columns are textual/float —
the books aggregate in Python with Decimal, never in SQL.
"""

from decimal import Decimal

from django.db import DataError, models

from core.amounts import AMOUNT_CONTEXT, AMOUNT_LIMIT, AMOUNT_PLACES, AMOUNT_QUANTUM, decimal_str


class NumericOverflow(DataError):
    """What PostgreSQL answers for a value past numeric(38,18) (SQLSTATE 22003), raised on SQLite alike."""

    sqlstate = "22003"


class AmountField(models.DecimalField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 38)
        kwargs.setdefault("decimal_places", AMOUNT_PLACES)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        kwargs.pop("max_digits", None)
        kwargs.pop("decimal_places", None)
        return name, "core.fields.AmountField", args, kwargs

    # Not "DecimalField": SQLite's backend would pass our text through a float converter.
    def get_internal_type(self) -> str:
        return "AmountField"

    def db_type(self, connection) -> str:
        if connection.vendor == "sqlite":
            return "text"
        return f"numeric({self.max_digits},{self.decimal_places})"

    def cast_db_type(self, connection) -> str:
        return self.db_type(connection)

    def get_db_prep_value(self, value, connection, prepared=False):
        if not prepared:
            value = self.get_prep_value(value)
        if value is None or hasattr(value, "as_sql"):
            return value
        value = value.quantize(AMOUNT_QUANTUM, context=AMOUNT_CONTEXT)
        if connection.vendor == "sqlite":
            if value.copy_abs() >= AMOUNT_LIMIT:
                # What numeric(38,18) refuses on PostgreSQL, refuse here too (not stored silently).
                raise NumericOverflow("numeric field overflow: at most 20 digits before the decimal point")
            return decimal_str(value)
        return value

    def from_db_value(self, value, expression, connection):
        if value is None or isinstance(value, Decimal):
            return value
        if isinstance(value, float):  # only from SQL arithmetic on SQLite
            return Decimal(repr(value))
        return Decimal(value)
