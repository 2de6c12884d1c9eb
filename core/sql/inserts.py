"""INSERT … ON CONFLICT DO NOTHING RETURNING, built once per shape, for the write path.

Why not `bulk_create(ignore_conflicts=True)`: it cannot tell which rows it skipped
(it returns every object), and idempotency needs exactly that. One statement per
chunk inserts what is new and returns it; the caller reads back the keys it did
not get to tell a duplicate from a conflict. Both PostgreSQL and SQLite (≥ 3.35)
speak this SQL.

JSON columns are written from our own exact text (`core.exact_json.dumps`).
"""

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.db.models import Func, Value
from django.db.models.expressions import RawSQL

from core.exact_json import dumps, json_text
from core.sql.reads import from_db
from core.sql.statements import send_prepared


def json_expression(value) -> Any:
    """An ORM expression for a JSON column set from exact text (for `.update()`)."""
    text = dumps(value)
    if connection.vendor == "postgresql":
        return Func(Value(text), template="(%(expressions)s)::jsonb", output_field=models.JSONField())
    return Func(Value(text), function="json", output_field=models.JSONField())


def json_merge_expression(column: str, value: dict) -> Any:
    """`column` with the keys of `value` merged in (top level), for `.update()`: unknown
    fields of a later item (a trade's close) join the row's meta without a read."""
    text = dumps(value)
    quoted = connection.ops.quote_name(column)
    if connection.vendor == "postgresql":
        return RawSQL(f"COALESCE({quoted}, '{{}}'::jsonb) || %s::jsonb", [text], output_field=models.JSONField())
    return RawSQL(f"json_patch(COALESCE({quoted}, '{{}}'), json(%s))", [text], output_field=models.JSONField())


def _placeholder(field: models.Field) -> str:
    if isinstance(field, models.JSONField) and connection.vendor == "postgresql":
        return "%s::jsonb"
    return "%s"


def _prep(field: models.Field, value):
    if isinstance(field, models.JSONField):
        return json_text(value)
    return field.get_db_prep_save(value, connection)


def _chunk_size(columns: int) -> int:
    limit = connection.features.max_query_params or 65535
    if connection.vendor == "sqlite":
        limit = 32766  # SQLite ≥ 3.32; Django's feature flag still says 999
    return max(1, limit // columns)


def insert_rows(
    model: type[models.Model], rows: Sequence[dict], *, returning: Sequence[str] = ("id",),
    on_conflict: bool = True,
) -> list[tuple]:
    """Insert `rows` (dicts of attname -> Python value, all with the same keys).

    Returns, for each row actually inserted, the `returning` columns converted back to
    Python values. With `on_conflict`, rows that hit a unique key are skipped silently
    (and not returned). Without conflicts the rows come back in the order given
    (PostgreSQL and SQLite return VALUES order; Django's bulk_create relies on it too).
    """
    return send_rows(model, rows, returning=returning, on_conflict=on_conflict)()


def send_rows(
    model: type[models.Model], rows: Sequence[dict], *, returning: Sequence[str] = ("id",),
    on_conflict: bool = True,
) -> Callable[[], list[tuple]]:
    """`insert_rows`, sent now and read later: returns the function that gives its rows.
    Inside `pipelined()` on PostgreSQL the server inserts while the caller goes on."""
    if not rows:
        return list
    if connection.vendor == "postgresql":
        return _insert_unnest(model, rows, returning=returning, on_conflict=on_conflict)
    inserted = _insert_rows_sqlite(model, rows, returning=returning, on_conflict=on_conflict)
    return lambda: inserted


def _insert_rows_sqlite(model, rows: Sequence[dict], *, returning: Sequence[str], on_conflict: bool) -> list[tuple]:
    names = list(rows[0])
    meta = model._meta
    fields = [meta.get_field(name) for name in names]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    ret_fields = [meta.get_field(name) for name in returning]
    ret_columns = ", ".join(connection.ops.quote_name(f.column) for f in ret_fields)
    row_sql = "(" + ", ".join(_placeholder(f) for f in fields) + ")"
    table = connection.ops.quote_name(meta.db_table)
    conflict = " ON CONFLICT DO NOTHING" if on_conflict else ""
    out: list[tuple] = []
    size = _chunk_size(len(fields))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start:start + size]
            params: list = []
            for row in chunk:
                params.extend(_prep(f, row[name]) for f, name in zip(fields, names, strict=True))
            sql = (f"INSERT INTO {table} ({columns}) VALUES {', '.join([row_sql] * len(chunk))}"
                   f"{conflict} RETURNING {ret_columns}")
            cursor.execute(sql, params)
            out.extend(tuple(from_db(f, v) for f, v in zip(ret_fields, fetched, strict=True))
                       for fetched in cursor.fetchall())
    return out


def _pg_value(field: models.Field, value):
    if value is None:
        return None
    if isinstance(field, models.JSONField):
        return json_text(value)
    if isinstance(field, models.DecimalField) and not isinstance(value, Decimal):
        return Decimal(value)
    return value


_UNNEST_INSERTS: dict[tuple, tuple] = {}  # (model, varying, constant, returning, on_conflict) -> plan


def _same(values: list) -> bool:
    """Every value is the first one (same type, equal): sent once, not as an array."""
    first = values[0]
    if values.count(first) != len(values):  # the C loop first: most columns differ early
        return False
    kind = type(first)
    return all(type(v) is kind for v in values)


def _insert_unnest(model, rows: Sequence[dict], *, returning: Sequence[str],
                   on_conflict: bool) -> Callable[[], list[tuple]]:
    """PostgreSQL: one array parameter per column (INSERT … SELECT FROM unnest(…)).

    A handful of parameters however many rows: no 65,535-parameter limit, and the
    driver does not parse a statement with tens of thousands of placeholders.
    """
    columns = {name: [row[name] for row in rows] for name in rows[0]}
    return _insert_columns_pg(model, *_fold_constants(model, columns, {}, len(rows)),
                              returning=returning, on_conflict=on_conflict)


def insert_columns(
    model: type[models.Model], columns: dict[str, list], constants: dict[str, object], *,
    returning: Sequence[str] = ("id",), on_conflict: bool = True,
) -> list[tuple]:
    """`insert_rows` for callers that already hold the values by column: `columns` maps
    attnames to one value per row (at least one column), `constants` to one value for every
    row; every other concrete column takes its default. Rows are inserted in list order."""
    return send_columns(model, columns, constants, returning=returning, on_conflict=on_conflict)()


def send_columns(
    model: type[models.Model], columns: dict[str, list], constants: dict[str, object], *,
    returning: Sequence[str] = ("id",), on_conflict: bool = True,
) -> Callable[[], list[tuple]]:
    """`insert_columns`, sent: inside `pipelined()` the statement is not waited for, and the
    returned callable reads its rows (elsewhere it has already run)."""
    count = len(next(iter(columns.values())))
    if connection.vendor != "postgresql":
        names = list(columns)
        rows = [full_row(model, {**constants, **dict(zip(names, values, strict=True))})
                for values in zip(*columns.values(), strict=True)]
        return send_rows(model, rows, returning=returning, on_conflict=on_conflict)
    columns, constants = _fold_constants(model, dict(columns), dict(constants), count)
    for f in model._meta.concrete_fields:
        if f.attname not in columns and f.attname not in constants and f.attname != "id":
            if f.has_default() and callable(f.default) and count > 1:
                columns[f.attname] = [f.get_default() for _ in range(count)]
            else:
                constants[f.attname] = f.get_default()
    return _insert_columns_pg(model, columns, constants, returning=returning, on_conflict=on_conflict)


def _all_empty(values: list) -> bool:
    """Every value is the same empty JSON container (a fill's `[]` fees, `{}` meta): one text
    whatever the digits, so the column folds without serialising each row's."""
    first = values[0]
    kind = type(first)
    return kind in (dict, list) and not first and all(type(v) is kind and not v for v in values)


def _fold_constants(model, columns: dict[str, list], constants: dict[str, object],
                    count: int) -> tuple[dict[str, list], dict[str, object]]:
    """Move each column whose value is the same in every row (the account, the bot, empty
    texts) to `constants`: sent once as a scalar, not as an array (psycopg's array dumpers
    are per-element Python). A single row is all scalars; identical rows keep one column."""
    meta = model._meta
    for name, values in list(columns.items()):
        if isinstance(meta.get_field(name), models.JSONField) and not _all_empty(values):
            # Compared as the text stored: {"a": 1.0} and {"a": 1.00} are equal dicts, not equal raw items.
            values = columns[name] = [None if v is None else json_text(v) for v in values]
        if count == 1 or _same(values):  # one row (a single fill, its journal line): all constants
            constants[name] = values[0]
            del columns[name]
    if count > 1 and not columns:
        first = next(iter(constants))  # identical rows (e.g. journal lines): still one row each
        columns[first] = [constants.pop(first)] * count
    return columns, constants


def _insert_columns_pg(model, columns: dict[str, list], constants: dict[str, object], *,
                       returning: Sequence[str], on_conflict: bool) -> Callable[[], list[tuple]]:
    meta = model._meta
    varying = tuple(columns)
    fixed = tuple(constants)
    cache_key = (model, varying, fixed, tuple(returning), on_conflict)
    plan = _UNNEST_INSERTS.get(cache_key)
    if plan is None:
        quote = connection.ops.quote_name
        fixed_fields = [meta.get_field(name) for name in fixed]
        varying_fields = [meta.get_field(name) for name in varying]
        names = ", ".join(quote(f.column) for f in (*fixed_fields, *varying_fields))
        # Decimal arrays travel as text and are cast by the server: psycopg's binary numeric
        # dumper is per-element Python, five times the cost of str() (measured).
        as_text = [isinstance(f, models.DecimalField) for f in varying_fields]
        select = ", ".join([f"%b::{f.db_type(connection)}" for f in fixed_fields]
                           + [f"v.c{n}::{f.db_type(connection)}" if text else f"v.c{n}"
                              for n, (f, text) in enumerate(zip(varying_fields, as_text, strict=True))])
        source = ""
        if varying_fields:
            arrays = ", ".join("%b::text[]" if text else f"%b::{f.db_type(connection)}[]"
                               for f, text in zip(varying_fields, as_text, strict=True))
            source = f" FROM unnest({arrays}) AS v({', '.join(f'c{n}' for n in range(len(varying_fields)))})"
        ret_fields = [meta.get_field(name) for name in returning]
        ret_columns = ", ".join(quote(f.column) for f in ret_fields)
        conflict = " ON CONFLICT DO NOTHING" if on_conflict else ""
        sql = (f"INSERT INTO {quote(meta.db_table)} ({names}) SELECT {select}{source}{conflict} "
               f"RETURNING {ret_columns}")
        # Values are already checked and typed by the validator, so Django's per-value prep is
        # skipped; only JSON and decimal columns need a conversion (the casts say the rest).
        prep = lambda f: f if isinstance(f, (models.JSONField, models.DecimalField)) else None  # noqa: E731
        plan = _UNNEST_INSERTS[cache_key] = (sql, [prep(f) for f in fixed_fields],
                                             [prep(f) for f in varying_fields], as_text, ret_fields)
    sql, fixed_prep, varying_prep, as_text, ret_fields = plan
    params = [v if f is None else _pg_value(f, v) for f, v in zip(fixed_prep, constants.values(), strict=True)]
    for f, text, values in zip(varying_prep, as_text, columns.values(), strict=True):
        if text:
            params.append([None if v is None else str(v) for v in values])
        else:
            params.append(values if f is None else [_pg_value(f, v) for v in values])
    # Server-side binding (Django's cursor would quote every array element into the SQL text)
    # and prepared: the text depends only on the columns, and planning it on every request
    # costs the server about as much as a one-row insert.
    fetch = send_prepared(sql, params)  # outside a pipeline: run now, on the kept cursor
    return lambda: _converted(ret_fields, fetch())


def _converted(fields: Sequence[models.Field], fetched: list[tuple]) -> list[tuple]:
    if not any(isinstance(f, models.DateTimeField) for f in fields):
        return fetched  # ids and text come back as they are
    return [tuple(from_db(f, v) for f, v in zip(fields, row, strict=True)) for row in fetched]


_ROW_TEMPLATES: dict[tuple, tuple[dict, tuple]] = {}


def full_row(model: type[models.Model], values: dict, *, skip: Iterable[str] = ("id",)) -> dict:
    """Every concrete column of `model` with its default, overridden by `values`.

    Per row this is on the hot path (twice per posted fill): the constant defaults are
    read once per model; only callable ones (a fresh {} or [] for a JSON column) are called
    for each row, so no two rows share a mutable default."""
    skip = tuple(skip)
    template = _ROW_TEMPLATES.get((model, skip))
    if template is None:
        constant, fresh = {}, []
        for f in model._meta.concrete_fields:
            if f.attname in skip:
                continue
            if f.has_default() and callable(f.default):
                constant[f.attname] = None
                fresh.append((f.attname, f))
            else:
                constant[f.attname] = f.get_default()
        template = _ROW_TEMPLATES[(model, skip)] = (constant, tuple(fresh))
    constant, fresh = template
    row = constant.copy()
    for attname, f in fresh:
        if attname not in values:
            row[attname] = f.get_default()
    for name, value in values.items():
        if name in row:
            row[name] = value
    return row
