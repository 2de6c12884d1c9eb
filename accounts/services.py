"""Account operations shared by the commands and the admin."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from accounts.models import Account
from core.amounts import parse_amount
from core.errors import BadValue, TradebookError


def create_account(
    *, slug: str, name: str, exchange: str, kind: str = Account.Kind.PAPER, base_currency: str = "USDT",
    initial_capital: Decimal | str = "0", cost_basis: str = Account.CostBasis.AVERAGE,
) -> Account:
    if not slug or slugify(slug) != slug:
        raise TradebookError(f"slug {slug!r} must be lowercase letters, digits, '-' or '_'", field="slug")
    if kind not in Account.Kind.values:
        raise TradebookError(f"kind must be one of {', '.join(Account.Kind.values)}, not {kind!r}", field="kind")
    if cost_basis not in Account.CostBasis.values:
        raise TradebookError(
            f"cost basis must be one of {', '.join(Account.CostBasis.values)}, not {cost_basis!r}", field="cost_basis"
        )
    if not base_currency.strip():
        raise TradebookError("base currency must not be empty", field="base_currency")
    try:
        capital = parse_amount(initial_capital)
    except BadValue as exc:
        raise TradebookError(f"initial capital {exc}", field="initial_capital")
    if capital < 0:
        raise TradebookError("initial capital must not be negative", field="initial_capital")
    try:
        with transaction.atomic():
            return Account.objects.create(
                slug=slug, name=name, exchange=exchange, kind=kind, base_currency=base_currency.upper(),
                initial_capital=capital, cost_basis=cost_basis,
            )
    except IntegrityError:
        if Account.objects.filter(slug=slug).exists():
            raise TradebookError(f"an account with slug {slug!r} exists already", field="slug")
        raise


def grant_access(*, slug: str, username: str) -> Account:
    """Let a staff user see the account in the admin (members)."""
    account = Account.objects.filter(slug=slug).first()
    if account is None:
        raise TradebookError(f"no account with slug {slug!r}", field="account")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise TradebookError(f"no user named {username!r}", field="user")
    account.members.add(user)
    return account
