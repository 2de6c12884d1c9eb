"""add_source --account S --kind freqtrade|hummingbot --db-url URL | --kind jsonl --path FILE [--name N] (SPEC 6)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction

from accounts.management.lookup import account_named
from core.errors import TradebookError
from trades.models import Source, SourceKind
from trades.sources.db import StoreDatabase, StoreError, normalized_url, shown_url


class Command(BaseCommand):
    help = ("Follow a bot's store: a freqtrade or hummingbot database (--db-url sqlite:///path or "
            "postgresql://…) or a growing events.jsonl (--path). Celery syncs it every SOURCE_INTERVAL; "
            "sync_source NAME syncs it now. The store is only ever read.")

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True, help="The account's slug.")
        parser.add_argument("--kind", required=True, choices=SourceKind.values)
        parser.add_argument("--db-url", help="freqtrade/hummingbot: the bot's database URL.")
        parser.add_argument("--path", help="jsonl: the file the bot appends to.")
        parser.add_argument("--name", help="A unique name (default <account>-<kind>-<file or database name>).")

    def handle(self, *args, **o):
        account = account_named(o["account"])
        kind = o["kind"]
        if kind == SourceKind.JSONL:
            if not o["path"] or o["db_url"]:
                raise CommandError("a jsonl source takes --path FILE (and no --db-url)")
            location = str(Path(o["path"]).expanduser().resolve())
            stem = Path(location).stem
        else:
            if not o["db_url"] or o["path"]:
                raise CommandError(f"a {kind} source takes --db-url URL (and no --path)")
            try:
                location = normalized_url(o["db_url"])
            except TradebookError as exc:
                raise CommandError(str(exc))
            stem = Path(location.split(":///", 1)[1]).stem if location.startswith("sqlite:") else \
                location.rsplit("/", 1)[-1].split("?", 1)[0]
        name = o["name"] or f"{account.slug}-{kind}-{stem}"
        try:
            with transaction.atomic():
                Source.objects.create(account=account, name=name, kind=kind, location=location)
        except IntegrityError:
            raise CommandError(f"A source named {name!r} exists already: give another --name.")
        shown = location if kind == SourceKind.JSONL else shown_url(location)
        self.stdout.write(f"Source {name!r} added: {kind} {shown} into {account.slug}; "
                          f"sync it now with: manage.py sync_source {name}")
        problem = _unreadable(kind, location)
        if problem:
            self.stderr.write(f"warning: {problem} (the source is kept; each sync will say so until it can be read)")


def _unreadable(kind: str, location: str) -> str | None:
    if kind == SourceKind.JSONL:
        return None if Path(location).is_file() else f"{location}: no such file yet"
    try:
        with StoreDatabase(location) as db, db.read() as r:
            r.tables()
    except StoreError as exc:
        return str(exc)
    return None
