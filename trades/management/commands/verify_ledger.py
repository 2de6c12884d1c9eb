"""verify_ledger [--account S …] [--repair]: recompute the books from the fills and compare."""

import time

from django.core.management.base import BaseCommand, CommandError

from accounts.management.lookup import accounts_named
from accounts.models import Account
from core.progress import Progress
from trades.books.verify import Verification, verify_account
from trades.models import Fill


class Command(BaseCommand):
    help = (
        "Recompute every account's positions from its fills alone and compare them with the stored "
        "books (PositionState). Lists every difference and exits 1 if there is any."
    )

    def add_arguments(self, parser):
        parser.add_argument("--account", action="append", metavar="SLUG",
                            help="Only this account (repeatable). Default: every account.")
        parser.add_argument("--repair", action="store_true",
                            help="Recompute the symbols that differ (still exits 1: the difference was real).")

    def handle(self, *args, **o):
        if o["account"]:
            accounts = sorted(accounts_named(o["account"]), key=lambda a: a.slug)
        else:
            accounts = list(Account.objects.order_by("slug"))
        total = Fill.objects.filter(account__in=accounts, voided_at__isnull=True).count()
        result = Verification()
        started = time.monotonic()
        with Progress(total, label="verify_ledger", stream=self.stderr) as bar:
            for account in accounts:
                verify_account(account=account, result=result, repair=o["repair"], progress=bar.advance)
        elapsed = time.monotonic() - started
        for difference in result.differences:
            self.stdout.write(f"DIFFERENCE {difference}")
        rate = result.fills / elapsed if elapsed > 0 else 0
        line = (f"verify_ledger: {result.accounts} accounts, {result.symbols} symbols, {result.fills} fills "
                f"recomputed in {elapsed:.2f} s ({rate:,.0f} fills/s): {len(result.differences)} differences")
        if o["repair"] and result.repaired:
            line += f", {result.repaired} symbols repaired"
        self.stdout.write(line)
        if result.differences:
            raise CommandError(f"{len(result.differences)} differences between the stored books and the fills.")
