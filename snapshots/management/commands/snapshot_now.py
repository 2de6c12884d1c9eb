"""snapshot_now [--account S]: take the computed snapshots of this interval now, without a worker."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.management.lookup import account_named
from snapshots.take import CREATED, DUPLICATE, active_account_ids, interval_start, take_snapshot


class Command(BaseCommand):
    help = (
        "Take the computed snapshot (positions valued at marks, equity) of every active account — or of one "
        "with --account — for the current interval, in this process. Safe to re-run: an interval already "
        "taken (by this command or by the Celery round) is left as it is."
    )

    def add_arguments(self, parser):
        parser.add_argument("--account", metavar="SLUG", help="Only this account (even if inactive).")

    def handle(self, *args, **options):
        at = timezone.now()
        bucket = interval_start(at)
        if options["account"]:
            account_ids = [account_named(options["account"]).pk]
        else:
            account_ids = active_account_ids()

        counts = {CREATED: 0, DUPLICATE: 0}
        positions = 0
        progress = Progress(len(account_ids), label="snapshot", stream=self.stderr)
        for account_id in account_ids:
            # An account named with --account is snapshotted even when inactive: the operator asked.
            taken = take_snapshot(account_id=account_id, at=at, include_inactive=bool(options["account"]))
            counts[taken.status] = counts.get(taken.status, 0) + 1
            positions += taken.positions
            progress.step()
        progress.done()
        self.stdout.write(
            f"snapshot_now: interval {bucket.isoformat()}: {len(account_ids)} account(s), "
            f"{counts[CREATED]} snapshot(s) taken with {positions} position(s), "
            f"{counts[DUPLICATE]} already taken."
        )


class Progress:
    """A progress bar on stderr: redrawn in place on a terminal, a line every 10% in a log."""

    def __init__(self, total: int, *, label: str, stream, width: int = 30):
        self.total, self.label, self.stream, self.width, self.n = total, label, stream, width, 0
        self.tty = stream.isatty()

    def step(self) -> None:
        self.n += 1
        if self.tty:
            if self.n == self.total or self.n % max(1, self.total // 100) == 0:
                filled = self.width * self.n // max(1, self.total)
                bar = "#" * filled + "." * (self.width - filled)
                self.stream.write(f"\r{self.label} [{bar}] {self.n}/{self.total}", ending="")
                self.stream.flush()
        elif self.n == self.total or self.n % max(1, self.total // 10) == 0:
            self.stream.write(f"{self.label}: {self.n}/{self.total}")

    def done(self) -> None:
        if self.tty and self.total:
            self.stream.write("")
