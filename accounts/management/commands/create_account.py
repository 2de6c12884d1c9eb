from django.core.management.base import BaseCommand

from accounts.management.lookup import command_error
from accounts.models import Account
from accounts.services import create_account
from core.errors import TradebookError


class Command(BaseCommand):
    help = "Create an account (the unit of bookkeeping): one exchange or paper account."

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True, help="Short id used by the API, e.g. bybit-main.")
        parser.add_argument("--name", required=True)
        parser.add_argument("--exchange", required=True, help="e.g. bybit, binance, paper.")
        parser.add_argument("--kind", choices=Account.Kind.values, default=Account.Kind.PAPER)
        parser.add_argument("--base-currency", default="USDT")
        parser.add_argument("--initial-capital", default="0")
        parser.add_argument("--cost-basis", choices=Account.CostBasis.values, default=Account.CostBasis.AVERAGE)

    def handle(self, *args, **o):
        try:
            account = create_account(
                slug=o["slug"], name=o["name"], exchange=o["exchange"], kind=o["kind"],
                base_currency=o["base_currency"], initial_capital=o["initial_capital"], cost_basis=o["cost_basis"],
            )
        except TradebookError as exc:
            raise command_error(exc)
        self.stdout.write(
            f"Created account {account.slug} ({account.kind}, {account.exchange}, "
            f"{account.initial_capital} {account.base_currency}, {account.cost_basis} cost)."
        )
