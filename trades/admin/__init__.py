"""The admin: where a person reads the books (SPEC 7).

Every model of every app is registered here, beside the pages built on the books
(the account page and its charts), so the admin is one door like the API: `tenant`
scopes every list to the accounts a person may see and keeps ledger rows read-only;
`accounts`, `ledger` and `snapshots` register the models; `account_page` and `charts`
draw an account's books.
"""

from trades.admin import accounts, ledger, snapshots, sources  # noqa: F401 - registering is importing
