"""API tokens: random, recognisable by their prefix, stored only as a SHA-256 digest.

Tokens carry 256 bits of randomness, so a fast hash is enough (no password
stretching): a stolen database does not reveal them and lookup stays one index probe.
"""

import hashlib
import secrets
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from accounts.models import Account, ApiToken
from core.errors import TradebookError

TOKEN_PREFIX = "tb_"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def issue_token(*, name: str, account_slugs: Iterable[str]) -> tuple[ApiToken, str]:
    """Create a token for the accounts; return it and its secret (shown once, never stored)."""
    slugs = list(dict.fromkeys(account_slugs))
    if not name.strip():
        raise TradebookError("a token needs a name", field="name")
    if not slugs:
        raise TradebookError("a token needs at least one account", field="account")
    accounts = list(Account.objects.filter(slug__in=slugs))
    missing = sorted(set(slugs) - {a.slug for a in accounts})
    if missing:
        raise TradebookError(f"no account with slug {', '.join(missing)}", field="account")
    if ApiToken.objects.filter(name=name).exists():
        raise TradebookError(f"a token named {name!r} exists already; names are unique", field="name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(name=name, prefix=secret[:10], digest=digest(secret))
    token.accounts.set(accounts)
    return token, secret


def revoke_token(*, name: str) -> ApiToken:
    token = ApiToken.objects.filter(name=name).first()
    if token is None:
        raise TradebookError(f"no token named {name!r}", field="name")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
