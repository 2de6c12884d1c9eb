"""Bot authentication, scoping and throttling for the API.

A token sees only its accounts. Authentication reads the token and its accounts once
(`accounts.scope.token_and_accounts`); every view starts from `caller_accounts(request)`
and names an account through `account_named(request, slug)` — the one resolver, so an
account outside the scope answers exactly like one that does not exist (404).
"""

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions, throttling

from accounts.models import Account, ApiToken
from accounts.scope import pick_account, token_and_accounts

# last_used_at is written at most this often, and only by writes: a read never writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>` or `Authorization: Token <token>`."""

    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header:
            return None
        if header[0].decode(errors="replace").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        found = token_and_accounts(header[1].decode(errors="replace"))
        if found is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        token, accounts = found
        request.tradebook_accounts = accounts
        now = timezone.now()
        if request.method not in SAFE_METHODS and (
                token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return (None, token)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="tradebook"'


class HasApiToken(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiToken)


class TokenRateThrottle(throttling.SimpleRateThrottle):
    """API_THROTTLE_RATE per token (e.g. 100/s); 429 with Retry-After past it."""

    scope = "token"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
        return None

    def parse_rate(self, rate):
        try:
            return super().parse_rate(rate)
        except (ValueError, KeyError):
            raise ValueError(f"API_THROTTLE_RATE must look like 100/s, 6000/m: {rate!r}")


def caller_accounts(request) -> list[Account]:
    """The accounts the caller's token may see and write (read with the token, once)."""
    return getattr(request, "tradebook_accounts", [])


def caller_account_rows(request) -> QuerySet[Account]:
    """The same accounts as a queryset, for views that list or join them."""
    return Account.objects.filter(pk__in=[account.pk for account in caller_accounts(request)])


def account_named(request, slug: str | None) -> Account:
    """The account a request names (a URL or `?account=`), within the caller's scope; with no
    slug, the token's only account. A 404 outside the scope, as for an account that does not exist."""
    return pick_account(caller_accounts(request), slug)
