from django.core.management.base import BaseCommand

from accounts.management.lookup import accounts_named, command_error
from accounts.tokens import issue_token
from core.errors import TradebookError


class Command(BaseCommand):
    help = "Issue an API token for one or more accounts. The token is printed once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--account", action="append", required=True, help="Account slug; repeat for several.")
        parser.add_argument("--name", required=True, help="A unique name, e.g. the bot's id.")

    def handle(self, *args, **o):
        accounts_named(o["account"])  # the one wording for a missing account
        try:
            token, secret = issue_token(name=o["name"], account_slugs=o["account"])
        except TradebookError as exc:
            raise command_error(exc)
        slugs = ", ".join(sorted(a.slug for a in token.accounts.all()))
        self.stdout.write(f"Issued token {token.name!r} for {slugs}. It is shown only now; store it safely:")
        self.stdout.write(secret)
