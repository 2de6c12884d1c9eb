"""list_sources [--account S]: the stores tradebook follows, with their last sync, lag and last error."""

from django.core.management.base import BaseCommand

from accounts.management.lookup import account_named
from trades.models import Source
from trades.sources.sync import describe


class Command(BaseCommand):
    help = "List the sources (bots' stores tradebook follows): kind, location, last sync, lag, last error."

    def add_arguments(self, parser):
        parser.add_argument("--account", help="Only this account's sources.")

    def handle(self, *args, **o):
        sources = Source.objects.select_related("account").order_by("name")
        if o["account"]:
            sources = sources.filter(account=account_named(o["account"]))
        count = 0
        for s in sources:
            count += 1
            lag = f"{s.lag.total_seconds():g}s" if s.lag is not None else "-"
            last = s.last_sync_at.isoformat(timespec="seconds") if s.last_sync_at else "never"
            ok = s.last_success_at.isoformat(timespec="seconds") if s.last_success_at else "never"
            state = "enabled" if s.enabled else "disabled"
            self.stdout.write(f"{s.name}  {s.account.slug}  {s.kind}  {state}  {describe(s)}")
            self.stdout.write(f"    last sync {last}, last success {ok}, lag {lag}, errors in a row {s.error_count}")
            if s.last_error:
                self.stdout.write(f"    last error: {s.last_error}")
        self.stdout.write(f"{count} source{'s' if count != 1 else ''}.")
