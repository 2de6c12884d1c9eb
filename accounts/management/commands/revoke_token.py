from django.core.management.base import BaseCommand

from accounts.management.lookup import command_error
from accounts.tokens import revoke_token
from core.errors import TradebookError


class Command(BaseCommand):
    help = "Revoke an API token by name; it stops authenticating at once."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)

    def handle(self, *args, **o):
        try:
            token = revoke_token(name=o["name"])
        except TradebookError as exc:
            raise command_error(exc)
        self.stdout.write(f"Revoked token {token.name!r} (revoked at {token.revoked_at:%Y-%m-%d %H:%M:%S} UTC).")
