"""prune_snapshots: apply the retention policy now (what the nightly task does)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from snapshots.retention import DEFAULT_BATCH_SIZE, prune_snapshots


class Command(BaseCommand):
    help = (
        "Thin old snapshots and marks: all kept for SNAPSHOT_RETENTION_DAYS, then the newest of each hour for "
        "SNAPSHOT_HOURLY_DAYS more, then the newest of each day (the newest mark of a symbol is always kept). "
        "Safe to re-run: a second run deletes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                            help=f"Rows deleted per statement (default {DEFAULT_BATCH_SIZE}).")

    def handle(self, *args, **options):
        if options["batch_size"] <= 0:
            raise CommandError("--batch-size must be a positive number.")
        result = prune_snapshots(batch_size=options["batch_size"])
        for label, count in result.deleted.items():
            self.stdout.write(f"  {label}: {count} deleted")
        self.stdout.write(
            f"prune_snapshots: deleted {result.total} row(s); all kept since {result.raw_since.isoformat()} "
            f"({settings.SNAPSHOT_RETENTION_DAYS} days), one an hour since {result.hourly_since.isoformat()}, "
            "one a day before."
        )
