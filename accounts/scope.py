"""Whose accounts a caller may see: the one resolver behind the API, the ingest checks and the admin.

A token sees and writes only its accounts; a staff user sees only the accounts they are a
member of (superusers see all). An account outside the scope is answered exactly as one
that does not exist: the same 404 and the same words.
"""

from collections.abc import Sequence

from django.db import connection
from django.db.models import QuerySet

from accounts.models import Account, ApiToken
from accounts.tokens import TOKEN_PREFIX, digest
from core.errors import TradebookError
from core.sql.reads import RowLoader
from core.sql.statements import run_prepared

SEVERAL_ACCOUNTS = "this token has several accounts: name one with 'account'"


def no_account(slug) -> TradebookError:
    """The one answer for an account that does not exist or is not the caller's."""
    return TradebookError(f"no account {slug!r}", field="account", status=404)


def pick_account(accounts: Sequence[Account], slug, *, default: Account | None = None) -> Account:
    """The account `slug` names among `accounts`; with no slug, `default` or the only one.

    Raises TradebookError (field `account`): 404 for a slug outside `accounts`, 400 for no
    slug among several accounts or a slug that is not text."""
    if slug in (None, ""):
        if default is not None:
            return default
        if len(accounts) == 1:
            return accounts[0]
        if not accounts:
            raise no_account(slug)
        raise TradebookError(SEVERAL_ACCOUNTS, field="account")
    if not isinstance(slug, str):
        raise TradebookError("must be an account slug", field="account")
    for account in accounts:
        if account.slug == slug:
            return account
    raise no_account(slug)


def visible_accounts(user) -> QuerySet[Account]:
    """The accounts a person may see in the admin: all for a superuser, else their memberships."""
    if user.is_superuser:
        return Account.objects.all()
    if not user.is_active or not user.is_staff:
        return Account.objects.none()
    return Account.objects.filter(members=user)


_token_query = None


def token_and_accounts(secret: str) -> tuple[ApiToken, list[Account]] | None:
    """The active token for this secret and its accounts (by slug), in one query: it runs on
    every API request, and written with the ORM its build would cost more than its run."""
    global _token_query
    if not secret.startswith(TOKEN_PREFIX):
        return None
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
