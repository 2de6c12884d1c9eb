"""What the operators' commands share: the account named on the command line."""

from django.core.management.base import CommandError

from accounts.models import Account


def account_named(slug: str) -> Account:
    """The account with this slug, or a CommandError that says there is none."""
    account = Account.objects.filter(slug=slug).first()
    if account is None:
        raise CommandError(f"No account with slug {slug!r}.")
    return account
