from django.core.management.base import BaseCommand, CommandError

from accounts.services import grant_access
from core.errors import TradebookError


class Command(BaseCommand):
    help = "Let a staff user see an account in the admin."

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True, help="Account slug.")
        parser.add_argument("--user", required=True, help="Username.")

    def handle(self, *args, **o):
        try:
            account = grant_access(slug=o["account"], username=o["user"])
        except TradebookError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"User {o['user']} may now see account {account.slug}.")
