"""sync_source NAME [--full]: sync one source now, no worker needed (SPEC 6)."""

from django.core.management.base import BaseCommand, CommandError

from core.progress import Progress
from trades.models import Source
from trades.sources.sync import sync_source


class Command(BaseCommand):
    help = ("Sync a source now: book what is new in the bot's store since the last sync. --full re-reads the "
            "store from the start (nothing is booked twice; a row the bot changed after it was booked is "
            "reported).")

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--full", action="store_true", help="Re-read the whole store, not only what is new.")

    def handle(self, *args, **o):
        source = Source.objects.filter(name=o["name"]).first()
        if source is None:
            raise CommandError(f"No source {o['name']!r} (list_sources shows them).")
        with Progress(None, label=f"sync {source.name}", stream=self.stderr) as bar:
            result = sync_source(source_id=source.pk, full=o["full"], progress=bar)
        if result.status == "failed":
            raise CommandError(result.line())
        self.stdout.write(result.line())
