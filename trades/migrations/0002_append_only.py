"""The database refuses edits of ledger rows (SPEC 4.1 rule 6), whatever door is used.

- events: no UPDATE at all (append-only journal);
- fills: no UPDATE of booked columns (a void sets voided_at/void_reason only);
- cash flows: no UPDATE;
- trades: no UPDATE once closed.
DELETE is left to the application (the admin and the API offer none; ledger rows
PROTECT their account), so test databases can still be flushed.
"""

from django.db import migrations

FILL_BOOKED = ["account_id", "symbol", "external_id", "side", "price", "quantity", "fee", "fee_currency",
               "other_fees", "executed_at"]

RULES = [
    # (trigger name, table, columns or None for all, condition or None, message)
    ("event_append_only", "trades_event", None, None, "the journal is append-only"),
    ("fill_booked_immutable", "trades_fill", FILL_BOOKED, None, "booked content of a fill never changes: void it"),
    ("cashflow_immutable", "trades_cashflow", None, None, "cash flows are never edited: post a correcting one"),
    ("closed_trade_immutable", "trades_trade", None, "OLD.status = 'closed'", "a closed trade is never edited"),
]


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for name, table, columns, condition, message in RULES:
        of = f" OF {', '.join(columns)}" if columns else ""
        if vendor == "sqlite":
            when = f" WHEN {condition}" if condition else ""
            schema_editor.execute(
                f"CREATE TRIGGER {name} BEFORE UPDATE{of} ON {table} FOR EACH ROW{when} "
                f"BEGIN SELECT RAISE(ABORT, 'tradebook: {message}'); END;"
            )
        elif vendor == "postgresql":
            schema_editor.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN RAISE EXCEPTION 'tradebook: {message}' USING ERRCODE = 'integrity_constraint_violation'; END; $$;"
            )
            when = f" WHEN ({condition})" if condition else ""
            schema_editor.execute(
                f"CREATE TRIGGER {name} BEFORE UPDATE{of} ON {table} FOR EACH ROW{when} EXECUTE FUNCTION {name}();"
            )


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for name, table, *_ in RULES:
        if vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name};")
        elif vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table};")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}();")


def reinstall_on_sqlite(apps, schema_editor):
    """For a later migration that alters a column of these tables: SQLite does that by
    rebuilding the table, which drops its triggers."""
    if schema_editor.connection.vendor == "sqlite":
        uninstall(apps, schema_editor)
        install(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("trades", "0001_initial")]
    operations = [migrations.RunPython(install, uninstall)]
