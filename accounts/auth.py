"""Bot authentication, scoping and throttling for the API.

A token sees only its accounts. Every view starts its queryset from
`scoped_accounts(request)`; an account outside the scope answers exactly like one
that does not exist (404).
"""

from datetime import timedelta

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions, throttling

from accounts.errors import TradebookError
from accounts.models import Account, ApiToken
from accounts.tokens import TOKEN_PREFIX, digest

# last_used_at is written at most this often, so reads stay reads.
LAST_USED_RESOLUTION = timedelta(minutes=1)


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
        found = _active_token_with_accounts(header[1].decode(errors="replace"))
        if found is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        token, accounts = found
        # The scope comes with the token (one query): scoped_account_list need not ask again.
        request._tradebook_accounts = accounts
        request._tradebook_account_ids = [a.pk for a in accounts]
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return (None, token)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="tradebook"'


_token_query = None


def _active_token_with_accounts(secret: str) -> tuple[ApiToken, list[Account]] | None:
    """The active token for this secret and its accounts (by slug), in ONE query — what
    `find_active_token` and `token.accounts` give, without the ORM's per-query build cost on
    every request."""
    global _token_query
    if not secret.startswith(TOKEN_PREFIX):
        return None
    from trades.ingest.sql import RowLoader, run_prepared

    if _token_query is None:
        quote = connection.ops.quote_name
        through = ApiToken.accounts.through._meta
        token_column = through.get_field(ApiToken.accounts.field.m2m_field_name()).column
        account_column = through.get_field(ApiToken.accounts.field.m2m_reverse_field_name()).column
        tokens, accounts = RowLoader(ApiToken, "t"), RowLoader(Account, "a")
        sql = (f"SELECT {tokens.columns}, {accounts.columns} FROM {quote(ApiToken._meta.db_table)} t "
               f"LEFT JOIN {quote(through.db_table)} ta ON ta.{quote(token_column)} = t.{quote('id')} "
               f"LEFT JOIN {quote(Account._meta.db_table)} a ON a.{quote('id')} = ta.{quote(account_column)} "
               f"WHERE t.{quote('digest')} = %s AND t.{quote('revoked_at')} IS NULL ORDER BY a.{quote('slug')}")
        _token_query = (sql, tokens, accounts)
    sql, tokens, accounts = _token_query
    rows = run_prepared(sql, [digest(secret)], checks_connection=True)
    if not rows:
        return None
    width = len(tokens.fields)
    token = tokens.load(rows[0][:width])
    return token, [accounts.load(row[width:]) for row in rows if row[width] is not None]


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
        # DRF accepts "100/s"; also accept "100/1s"-less forms only. Bad values fail loudly.
        try:
            return super().parse_rate(rate)
        except (ValueError, KeyError):
            raise ValueError(f"API_THROTTLE_RATE must look like 100/s, 6000/m: {rate!r}")


def scoped_accounts(request) -> QuerySet[Account]:
    """The accounts the caller's token may see and write."""
    token = request.auth
    if not isinstance(token, ApiToken):
        return Account.objects.none()
    cached = getattr(request, "_tradebook_account_ids", None)
    if cached is None:
        cached = list(token.accounts.values_list("pk", flat=True))
        request._tradebook_account_ids = cached
    return Account.objects.filter(pk__in=cached)


def scoped_account_list(request) -> list[Account]:
    """The token's accounts as rows, read once per request (one query: this is on every write)."""
    accounts = getattr(request, "_tradebook_accounts", None)
    if accounts is None:
        token = request.auth
        accounts = list(Account.objects.filter(tokens=token)) if isinstance(token, ApiToken) else []
        request._tradebook_accounts = accounts
        request._tradebook_account_ids = [a.pk for a in accounts]
    return accounts


def resolve_account(request, slug: str | None, *, index: int | None = None) -> Account:
    """The account an item or a request names, within the token's scope.

    No slug: the token's only account, or a 400 naming `account` when it has several.
    A slug outside the scope is a 404, the same as one that does not exist.
    """
    accounts = scoped_account_list(request)
    if slug in (None, ""):
        if len(accounts) == 1:
            return accounts[0]
        raise TradebookError(
            [{"index": index, "field": "account",
              "message": "this token has several accounts: name one with 'account'"}]
        )
    if not isinstance(slug, str):
        raise TradebookError([{"index": index, "field": "account", "message": "must be an account slug"}])
    for account in accounts:
        if account.slug == slug:
            return account
    raise exceptions.NotFound(f"No account {slug!r}.")
