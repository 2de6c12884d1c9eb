"""Account operations shared by the commands and the admin."""

from decimal import Decimal

from django.apps import apps
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


VIEWERS_GROUP = "tradebook viewers"
# Models a member may read in the admin (their rows scoped to the member's accounts there):
# every model of these apps but the API tokens, whose admin is the superusers' alone.
VIEWED_APPS = ("accounts", "trades", "snapshots")
NOT_VIEWED = {("accounts", "apitoken")}


def viewers_group():
    """The group whose members may view every tradebook model in the admin (read-only): created,
    and given any model added since, each time access is granted."""
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    for app_label in VIEWED_APPS:
        # The permissions exist once migrate has run; tests and fresh databases may not have them yet.
        create_permissions(apps.get_app_config(app_label), verbosity=0)
    group, _ = Group.objects.get_or_create(name=VIEWERS_GROUP)
    wanted = [p for p in Permission.objects.filter(content_type__app_label__in=VIEWED_APPS,
                                                   codename__startswith="view_").select_related("content_type")
              if (p.content_type.app_label, p.content_type.model) not in NOT_VIEWED]
    group.permissions.add(*wanted)
    return group


def grant_access(*, slug: str, username: str) -> Account:
    """Let a user see the account in the admin, read-only: a member of the account, staff (to log
    in to the admin) and in the viewers group (to view its models). Idempotent."""
    account = Account.objects.filter(slug=slug).first()
    if account is None:
        raise TradebookError(f"No account {slug!r}.", field="account")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise TradebookError(f"No user {username!r}: create it first (python manage.py createsuperuser, or the "
                             "admin's Users page).", field="user")
    with transaction.atomic():
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        user.groups.add(viewers_group())
        account.members.add(user)
    return account
