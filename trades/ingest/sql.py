"""The lean SQL of the write path: multi-row INSERT … ON CONFLICT DO NOTHING RETURNING.

Why not `bulk_create(ignore_conflicts=True)`: it cannot tell which rows it skipped
(it returns every object), and idempotency needs exactly that. One statement per
chunk inserts what is new and returns it; the caller reads back the keys it did
not get to tell a duplicate from a conflict. Both PostgreSQL and SQLite (≥ 3.35)
speak this SQL.

JSON columns are written from our own exact text (`dumps`): Django's JSONField
would go through `json.dumps`, which cannot write a Decimal, and floats would
lose the digits the bot posted.
"""

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import psycopg
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, models
from django.utils.dateparse import parse_datetime

from accounts.values import decimal_str


def _default(value):
    if isinstance(value, Decimal):
        # The number as posted, digit for digit (JSON allows exponents); never NaN here.
        return orjson.Fragment(str(value)) if value.is_finite() else decimal_str(value)
    return str(value)


def dumps(value) -> str:
    """JSON text that keeps every Decimal's digits as a JSON number."""
    try:
        return orjson.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # an integer beyond 64 bits: orjson refuses it, the slow path does not
        out: list[str] = []
        _dump(value, out)
        return "".join(out)


def _dump(value, out: list) -> None:
    if isinstance(value, dict):
        out.append("{")
        for position, (key, item) in enumerate(value.items()):
            out.append(("," if position else "") + json.dumps(str(key), ensure_ascii=False) + ":")
            _dump(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for position, item in enumerate(value):
            if position:
                out.append(",")
            _dump(item, out)
        out.append("]")
    elif isinstance(value, Decimal) and value.is_finite():
        out.append(str(value))
    elif value is None or isinstance(value, (bool, int, float, str)):
        out.append(json.dumps(value, ensure_ascii=False))
    else:
        out.append(json.dumps(str(value), ensure_ascii=False))


class JsonText(str):
    """A JSON document already serialised by `dumps` (passed to the database as it is)."""


def json_text(value) -> "JsonText":
    """The text a JSON column stores for `value`: already-serialised text as it is, else `dumps`."""
    return value if isinstance(value, JsonText) else JsonText(dumps(value))


# Deeper than any trading record needs, and well inside what every reader of the journal takes
# (orjson, which renders the API's answers, stops at 255 levels).
MAX_DEPTH = 64
TOO_DEEP = f"is nested more than {MAX_DEPTH} levels deep (objects or lists inside each other)"


class Unstorable(ValueError):
    """A posted value no database here can keep as posted; `field` is the top-level field holding it."""

    def __init__(self, field: str | None, message: str):
        self.field = field
        super().__init__(message)


def storable_json(item: dict) -> JsonText:
    """`item` as the JSON text the journal stores, refused (Unstorable) where it cannot be kept
    exactly: a NUL character (PostgreSQL's text and jsonb cannot hold U+0000, and one ledger
    answers alike on both databases), an unpaired surrogate (not Unicode, so not UTF-8), or
    objects and lists nested more than MAX_DEPTH deep (stored, it could not be read back).
    Every stored text of an item comes from its posted form, so checking that one text checks
    them all; each walk runs only when the text shows a suspect (a literal backslash-u0000 in a
    string is one, and passes; so are brackets inside strings)."""
    try:
        text = dumps(item)
    except RecursionError:
        raise Unstorable(None, TOO_DEEP) from None
    if text.count("{") + text.count("[") > MAX_DEPTH and _depth(item) > MAX_DEPTH:
        raise Unstorable(None, TOO_DEEP)
    if "\\u0000" in text or not (text.isascii() or _unicode_problem(text) is None):
        for key, value in item.items():
            problem = _unicode_problem(key)
            if problem is not None:
                raise Unstorable(None, f"the field name {key!r} {problem}")
            problem = _first_problem(value)
            if problem is not None:
                raise Unstorable(key if key.isprintable() else None, problem)
    return JsonText(text)


def _unicode_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains the character U+0000 (NUL), which cannot be stored: remove it"
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            return "contains an unpaired surrogate (a lone \\ud800-\\udfff escape), which is not Unicode text"
    return None


def _depth(value) -> int:
    deepest, pending = 0, [(value, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, (list, tuple)):
            continue
        deepest = max(deepest, depth)
        pending.extend((v, depth + 1) for v in value)
    return deepest


def _first_problem(value) -> str | None:
    pending = [value]
    while pending:  # a stack, not recursion: the value may be nested hundreds deep
        value = pending.pop()
        if isinstance(value, str):
            problem = _unicode_problem(value)
            if problem is not None:
                return problem
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, (list, tuple)):
            pending.extend(value)
    return None


def json_expression(value) -> Any:
    """An ORM expression for a JSON column set from exact text (for `.update()`)."""
    from django.db.models import Func, Value

    text = dumps(value)
    if connection.vendor == "postgresql":
        return Func(Value(text), template="(%(expressions)s)::jsonb", output_field=models.JSONField())
    return Func(Value(text), function="json", output_field=models.JSONField())


def json_merge_expression(column: str, value: dict) -> Any:
    """`column` with the keys of `value` merged in (top level), for `.update()`: unknown
    fields of a later item (a trade's close) join the row's meta without a read."""
    from django.db.models.expressions import RawSQL

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


def run_prepared(sql: str, params: Sequence, *, fetch: bool = True, checks_connection: bool = False) -> list[tuple]:
    """Run one statement of the hot path (written once, run on every request) and return its rows.

    PostgreSQL: prepared by psycopg on Django's own connection (same transaction), so the
    server parses and plans it once per connection, and with server-side binding (`%b`
    parameters are binary). Errors are Django's, as from any cursor. Elsewhere: Django's cursor.
    (psycopg prepares only under a prepare_threshold, which Django leaves off: the settings set
    one unless DB_PREPARED_STATEMENTS=false, and then these statements run unprepared.)

    `checks_connection`: this is a request's first statement, so it doubles as Django's health
    check (CONN_HEALTH_CHECKS) in place of its `SELECT 1`, one round trip fewer: if it fails on
    a persistent connection that is no longer usable, the connection is replaced and the
    statement run once more; once it has succeeded, Django knows the connection is alive.
    """
    db = connections[DEFAULT_DB_ALIAS]  # once: each `connection.x` is a lookup in a context-local
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if fetch else []
    if not (checks_connection and db.connection is not None and db.health_check_enabled
            and not db.health_check_done and not db.in_atomic_block):
        return _run_prepared_pg(db, sql, params, fetch)
    try:
        rows = _run_prepared_pg(db, sql, params, fetch)
    except DatabaseError:
        if db.is_usable():
            raise  # the statement failed, not the connection
        db.close()
        rows = _run_prepared_pg(db, sql, params, fetch)
    db.health_check_done = True
    return rows


def send_prepared(sql: str, params: Sequence) -> Callable[[], list[tuple]]:
    """`run_prepared` in two halves: the statement is sent now, on a cursor of its own, and the
    returned function reads its rows. Inside `pipelined()` the server runs it meanwhile;
    errors are Django's, raised by the read at the latest."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql" or db.connection is None or not db.connection.pgconn.pipeline_status:
        rows = run_prepared(sql, params)  # nothing to overlap with: run it now, on the kept cursor
        return lambda: rows
    cursor = psycopg.Cursor(db.connection)
    with db.wrap_database_errors:
        cursor.execute(sql, params, prepare=True)

    def fetch() -> list[tuple]:
        with db.wrap_database_errors, cursor:
            return cursor.fetchall()

    return fetch


@contextmanager
def pipelined(enabled: bool = True) -> Iterator[None]:
    """PostgreSQL's pipeline mode for the block: a statement sent by `send_prepared` (or
    `send_rows`) is not waited for, so the server works on it while Python prepares the next.
    Reading a result waits for it; leaving the block waits for all. Elsewhere: nothing."""
    db = connections[DEFAULT_DB_ALIAS]
    if not enabled or db.vendor != "postgresql":
        yield
        return
    db.ensure_connection()
    with db.wrap_database_errors, db.connection.pipeline():
        yield


def _run_prepared_pg(db, sql: str, params: Sequence, fetch: bool) -> list[tuple]:
    db.ensure_connection()
    # One cursor per connection, kept (a connection is one thread's): building a cursor costs
    # about a fifth of running a prepared statement on it (measured).
    cursor = getattr(db, "_tradebook_cursor", None)
    if cursor is None or cursor.connection is not db.connection or cursor.closed:
        cursor = db._tradebook_cursor = psycopg.Cursor(db.connection)
    with db.wrap_database_errors:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall() if fetch else []


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


class RowLoader:
    """Model instances from rows of our own SQL, converted exactly as the ORM converts them.

    The ORM spends more building a small query than the database spends answering it;
    the hot path (auth, the books' state lock) writes the SQL once and loads the rows here.
    `columns` is the SELECT list (qualified with `alias`), in the order the rows hold them.
    """

    def __init__(self, model: type[models.Model], alias: str | None = None):
        from django.db.models.expressions import Col

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


class CompiledQuery:
    """A model queryset compiled to SQL once per database, then run for other ids.

    For querysets too rich to write by hand (correlated subqueries, annotations) that run
    once per account on a hot path: the snapshot round values every account each interval,
    and building its states-with-marks query cost more than running it (2.0 of 3.3 ms,
    measured). `build(pk)` returns the queryset for one integer id; it is called once with a
    placeholder id, which every run replaces in the compiled parameters by the real one.
    Rows come back as model instances with their annotations, converted exactly
    as the ORM converts them (its own compiler's converters).
    """

    PLACEHOLDER = -7_777_777_000  # an id no row has

    def __init__(self, build):
        self.build = build
        self._plans: dict[str, tuple] = {}

    def _plan(self) -> tuple:
        plan = self._plans.get(connection.vendor)
        if plan is None:
            queryset = self.build(self.PLACEHOLDER)
            compiler = queryset.query.get_compiler(connection=connection)
            sql, params = compiler.as_sql()
            slots = [position for position, value in enumerate(params)
                     if type(value) is int and value == self.PLACEHOLDER]
            if not slots:
                raise ValueError("the placeholder id must reach the compiled query's parameters")
            select, info = compiler.select, compiler.klass_info
            start, end = info["select_fields"][0], info["select_fields"][-1] + 1
            attnames = [column[0].target.attname for column in select[start:end]]
            converters = list(compiler.get_converters([column[0] for column in select[:compiler.col_count]]).items())
            plan = self._plans[connection.vendor] = (
                sql, list(params), slots, converters, info["model"], (start, end, attnames),
                list(compiler.annotation_col_map.items()),
            )
        return plan

    def get(self, pk: int) -> list[models.Model]:
        sql, params, slots, converters, model, (start, end, attnames), annotations = self._plan()
        params = params.copy()
        for position in slots:
            params[position] = pk
        objects = []
        for row in run_prepared(sql, params):
            row = list(row)
            for position, (convert_all, expression) in converters:
                value = row[position]
                for convert in convert_all:
                    value = convert(value, expression, connection)
                row[position] = value
            instance = model.from_db(connection.alias, attnames, row[start:end])
            for name, position in annotations:
                setattr(instance, name, row[position])
            objects.append(instance)
        return objects
