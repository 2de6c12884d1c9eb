"""seed_demo: realistic demo data for a first look (SPEC 8). Safe to re-run: it adds nothing."""

from django.core.management.base import BaseCommand, CommandError

from core.errors import TradebookError
from trades.management.demo import seed
from trades.management.importing import ImportFailed, summary


class Command(BaseCommand):
    help = ("Create demo accounts (paper and testnet) with bots, four weeks of round trips with their plans, "
            "signals, marks, deposits, funding and snapshots — all posted through ingest. Re-running adds nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true",
                            help="Post the demo items again even to accounts seeded before (all duplicates).")

    def handle(self, *args, **o):
        try:
            results = seed(force=o["force"], stderr=self.stderr)
        except (TradebookError, ImportFailed) as exc:
            raise CommandError(f"demo data not written: {exc}")
        for account, counts in results:
            done = "seeded before, nothing added" if counts is None else summary(counts)
            self.stdout.write(f"{account.slug} ({account.kind}, {account.exchange}): {done}.")
