"""The journal's account reference, checked once per INSERT statement instead of once per line.

A foreign key checked each journal line against its account at COMMIT, while the request
waited: a 1,000-fill batch took 40.7 ms with it and 36.8 ms without (measured through
gunicorn). The database still refuses a line naming no account:

- PostgreSQL: a statement-level trigger locks the distinct accounts of the INSERT (FOR KEY
  SHARE, as the foreign key's check does, so an account cannot be deleted under a request
  writing to it) and counts them; a statement-level trigger on accounts refuses to delete an
  account the journal names (Django's PROTECT refuses it first).
- SQLite: a row trigger checks each line's account, as its foreign key did. Deletes are left
  to Django's PROTECT there, as for the journal's bot and token: a delete trigger would break
  the test runner's flush, which empties SQLite's tables in no fixed order.

A later migration that alters trades_event on SQLite rebuilds the table and drops its
triggers: call `reinstall_on_sqlite` from it (and 0002's).
"""

import importlib

import django.db.models.deletion
from django.db import migrations, models

append_only = importlib.import_module("trades.migrations.0002_append_only")

MISSING_ACCOUNT = "tradebook: a journal line names an account that does not exist"

POSTGRESQL = [
    f"""CREATE FUNCTION event_account_exists() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        wanted integer;
        found integer;
    BEGIN
        SELECT count(DISTINCT account_id) INTO wanted FROM new_events;
        SELECT count(*) INTO found FROM (
            SELECT 1 FROM accounts_account a WHERE a.id IN (SELECT account_id FROM new_events) FOR KEY SHARE
        ) AS named;
        IF found <> wanted THEN
            RAISE EXCEPTION '{MISSING_ACCOUNT}' USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
    END $$;""",
    "CREATE TRIGGER event_account_exists AFTER INSERT ON trades_event REFERENCING NEW TABLE AS new_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION event_account_exists();",
    """CREATE FUNCTION account_named_by_journal() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM trades_event e WHERE e.account_id IN (SELECT id FROM gone_accounts)) THEN
            RAISE EXCEPTION 'tradebook: the journal names this account: it cannot be deleted'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
    END $$;""",
    "CREATE TRIGGER account_named_by_journal AFTER DELETE ON accounts_account REFERENCING OLD TABLE AS gone_accounts "
    "FOR EACH STATEMENT EXECUTE FUNCTION account_named_by_journal();",
]

SQLITE = [
    "CREATE TRIGGER event_account_exists BEFORE INSERT ON trades_event FOR EACH ROW "
    "WHEN NOT EXISTS (SELECT 1 FROM accounts_account WHERE id = NEW.account_id) "
    f"BEGIN SELECT RAISE(ABORT, '{MISSING_ACCOUNT}'); END;",
]


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"postgresql": POSTGRESQL, "sqlite": SQLITE}.get(vendor, []):
        schema_editor.execute(statement)


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS event_account_exists ON trades_event;")
        schema_editor.execute("DROP FUNCTION IF EXISTS event_account_exists();")
        schema_editor.execute("DROP TRIGGER IF EXISTS account_named_by_journal ON accounts_account;")
        schema_editor.execute("DROP FUNCTION IF EXISTS account_named_by_journal();")
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS event_account_exists;")


def reinstall_on_sqlite(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        uninstall(apps, schema_editor)
        install(apps, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('trades', '0005_journal_references_unchecked'),
    ]

    operations = [
        migrations.AlterField(
            model_name='event',
            name='account',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='accounts.account'),
        ),
        # SQLite rebuilt trades_event for the field: its append-only trigger goes back on.
        migrations.RunPython(append_only.reinstall_on_sqlite, migrations.RunPython.noop),
        migrations.RunPython(install, uninstall),
    ]
