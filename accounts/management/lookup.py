"""What the operators' commands share: the accounts named on the command line, and one wording
for the errors every command can meet."""

from collections.abc import Iterable

from django.core.management.base import CommandError

from accounts.models import Account
from core.errors import TradebookError


def no_account(slug: str) -> str:
    """The one wording, in every command, for an account that does not exist."""
    return f"No account {slug!r}."


def account_named(slug: str) -> Account:
    """The account with this slug, or a CommandError that says there is none."""
    account = Account.objects.filter(slug=slug).first()
    if account is None:
        raise CommandError(no_account(slug))
    return account


def accounts_named(slugs: Iterable[str]) -> list[Account]:
    """The accounts with these slugs (in the order given), or a CommandError naming each missing one."""
    slugs = list(dict.fromkeys(slugs))
    found = {a.slug: a for a in Account.objects.filter(slug__in=slugs)}
    missing = [s for s in slugs if s not in found]
    if missing:
        raise CommandError(" ".join(no_account(s) for s in missing))
    return [found[s] for s in slugs]


def command_error(exc: TradebookError) -> CommandError:
    """A service's refusal as the command's error: its messages, without the API's field prefix."""
    return CommandError("; ".join(e["message"] for e in exc.errors))
