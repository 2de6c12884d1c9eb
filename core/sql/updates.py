"""UPDATE of many rows by id in one statement, for the write path (a batch of trade closes).

Django's `bulk_update` writes a CASE per column with a branch per row: its cost grows with
the square of the batch. Here PostgreSQL joins the rows as arrays (`UPDATE … FROM
unnest(…)`: one statement, linear); SQLite, in-process, runs one prepared UPDATE per row.
"""

from collections.abc import Sequence

from django.db import connection, models

from core.sql.inserts import _pg_value, _prep
from core.sql.statements import run_prepared

_PLANS: dict[tuple, str] = {}


def update_rows(model: type[models.Model], rows: Sequence[dict], *, constants: dict | None = None) -> None:
    """Set, for each row (a dict with `id` and the same other attnames), its values; `constants`
    (attname → value) are set on every one of them. Values are Python values, already checked."""
    if not rows:
        return
    constants = dict(constants or {})
    meta = model._meta
    names = [name for name in rows[0] if name != "id"]
    fields = [meta.get_field(name) for name in names]
    fixed = [meta.get_field(name) for name in constants]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    if connection.vendor == "postgresql":
        key = (model, tuple(names), tuple(constants))
        sql = _PLANS.get(key)
        if sql is None:
            sets = [f"{quote(f.column)} = v.c{n}::{f.db_type(connection)}" for n, f in enumerate(fields)]
            sets += [f"{quote(f.column)} = %b::{f.db_type(connection)}" for f in fixed]
            arrays = ", ".join(["%b::bigint[]"] + ["%b::text[]"] * len(fields))
            sql = _PLANS[key] = (f"UPDATE {table} AS t SET {', '.join(sets)} FROM unnest({arrays}) AS "
                                 f"v(id, {', '.join(f'c{n}' for n in range(len(fields)))}) WHERE t.id = v.id")
        # Every value travels as text (numeric and times exactly) and is cast by the server.
        params = [[row["id"] for row in rows]]
        for f, name in zip(fields, names, strict=True):
            params.append([None if (v := _pg_value(f, row[name])) is None else
                           (v.isoformat() if hasattr(v, "isoformat") else str(v)) for row in rows])
        params += [_pg_value(f, value) for f, value in zip(fixed, constants.values(), strict=True)]
        # The constants' placeholders come first in the text (SET), the arrays after (FROM).
        params = params[len(fields) + 1:] + params[:len(fields) + 1]
        run_prepared(sql, params, fetch=False)
        return
    sets = ", ".join(f"{quote(f.column)} = %s" for f in (*fields, *fixed))
    fixed_values = [_prep(f, value) for f, value in zip(fixed, constants.values(), strict=True)]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {sets} WHERE id = %s",
                           [[*(_prep(f, row[name]) for f, name in zip(fields, names, strict=True)),
                             *fixed_values, row["id"]] for row in rows])
