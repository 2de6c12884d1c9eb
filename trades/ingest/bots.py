"""Bots: registered on their first post, looked up once per process after that."""

from collections import defaultdict
from collections.abc import Sequence

from django.db import connection, transaction

from accounts.models import Bot
from core.sql.statements import run_prepared
from trades.ingest.items import Item

# Bot ids already committed, per process: {(account id, bot key): id}. A bot is looked up once,
# not on every request that names it. Entries are added only when the transaction that read or
# created the row commits, and a bot that ever posted has journal rows, so Django refuses to
# delete it (RESTRICT): an entry cannot go stale through the application.
_KNOWN_BOTS: dict[tuple[int, str], int] = {}
_KNOWN_BOTS_MAX = 100_000


def register_bots(items: Sequence[Item]) -> None:
    """Bot rows for every (account, bot key) posted, created on first sight; race-safe."""
    wanted: dict[int, set[str]] = defaultdict(set)
    for item in items:
        if item.bot_key:
            wanted[item.account.pk].add(item.bot_key)
    if not wanted:
        return
    ids: dict[tuple[int, str], int] = {}
    learned: dict[tuple[int, str], int] = {}
    for account_id, keys in wanted.items():
        unknown = set()
        for key in keys:
            pk = _KNOWN_BOTS.get((account_id, key))
            if pk is None:
                unknown.add(key)
            else:
                ids[(account_id, key)] = pk
        if not unknown:
            continue
        found = _bot_ids(account_id, unknown)
        missing = unknown - found.keys()
        if missing:
            # ignore_conflicts: a concurrent first post of the same bot is not an error.
            Bot.objects.bulk_create([Bot(account_id=account_id, key=k) for k in sorted(missing)],
                                    ignore_conflicts=True)
            found.update(_bot_ids(account_id, missing))
        learned.update({(account_id, k): pk for k, pk in found.items()})
    ids.update(learned)
    if learned:
        transaction.on_commit(lambda: _remember_bots(learned))
    for item in items:
        if item.bot_key:
            item.bot_id = ids[(item.account.pk, item.bot_key)]


def _remember_bots(learned: dict[tuple[int, str], int]) -> None:
    if len(_KNOWN_BOTS) + len(learned) > _KNOWN_BOTS_MAX:
        _KNOWN_BOTS.clear()
    _KNOWN_BOTS.update(learned)


def forget_bots() -> None:
    """Drop the remembered bot ids (a bot deleted behind the application's back)."""
    _KNOWN_BOTS.clear()


def _bot_ids(account_id: int, keys: set[str]) -> dict[str, int]:
    """{key: pk} of these bots (plain SQL: this runs on every request that names a bot)."""
    quote = connection.ops.quote_name
    sql = (f"SELECT {quote('key')}, {quote('id')} FROM {quote(Bot._meta.db_table)} "
           f"WHERE {quote('account_id')} = %s AND {quote('key')} IN ({', '.join(['%s'] * len(keys))})")
    return dict(run_prepared(sql, [account_id, *sorted(keys)]))
