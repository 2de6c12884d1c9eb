"""remove_source NAME: stop following a store. What it booked stays in the ledger."""

from django.core.management.base import BaseCommand, CommandError

from trades.models import Source


class Command(BaseCommand):
    help = "Stop following a source. The items it booked stay (the ledger keeps history)."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, **o):
        deleted, _ = Source.objects.filter(name=o["name"]).delete()
        if not deleted:
            raise CommandError(f"No source {o['name']!r} (list_sources shows them).")
        self.stdout.write(f"Source {o['name']!r} removed; what it booked stays.")
