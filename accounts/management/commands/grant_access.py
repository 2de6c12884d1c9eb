from django.core.management.base import BaseCommand

from accounts.management.lookup import command_error
from accounts.services import grant_access
from core.errors import TradebookError


class Command(BaseCommand):
    help = ("Let a user see an account in the admin, read-only: makes them staff and a member of the account "
            "and of the 'tradebook viewers' group. Safe to re-run.")

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True, help="Account slug.")
        parser.add_argument("--user", required=True, help="Username.")

    def handle(self, *args, **o):
        try:
            account = grant_access(slug=o["account"], username=o["user"])
        except TradebookError as exc:
            raise command_error(exc)
        self.stdout.write(f"User {o['user']} may now see account {account.slug} in the admin (read-only).")
