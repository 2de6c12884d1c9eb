"""The journal (SPEC 4.1 rule 5): every accepted item, raw, with who posted it and when,
written in the same transaction as the rows it made."""

from collections.abc import Callable
from datetime import datetime

from accounts.models import ApiToken
from core.sql.inserts import send_columns
from trades.ingest.items import Item
from trades.ingest.keyed import KEYED
from trades.models import Event


def item_key(item: Item) -> str:
    """The item's key as posted, for search: its `id`, or its key's values joined by '@'."""
    posted = item.posted
    if "id" in posted and posted["id"] is not None:
        return str(posted["id"])[:200]
    spec = KEYED.get(item.type.name)
    if spec is None:
        return ""
    parts = []
    for name in spec.key:
        value = item.values.get(name)
        if name == "bot_id":
            value = item.bot_key
        parts.append(value.isoformat() if isinstance(value, datetime) else str(value or ""))
    return "@".join(parts)[:200]


def log_ids_seen(account_id: int, ids: set[str]) -> set[str]:
    """Which of these log line ids the account's journal holds already (a log has no table of
    its own: the journal is its record)."""
    return set(Event.objects.filter(account_id=account_id, type="log", item_key__in=ids)
               .values_list("item_key", flat=True))


def send_journal(items: list[Item], *, token: ApiToken | None, channel: str,
                 received_at: datetime) -> Callable[[], list[tuple]]:
    """One journal row per item, in posted order, in one statement (built by column: the
    token, channel and receive time are the request's, the rest is per item); returns the
    reader of their ids."""
    columns = {
        "account_id": [item.account.pk for item in items],
        "bot_id": [item.bot_id for item in items],
        "type": [item.type.name for item in items],
        "item_key": [item_key(item) for item in items],
        "outcome": [item.outcome or "" for item in items],
        # Each raw item as the text stored, written (and checked storable) by the validator: two
        # items equal as dicts ({"a": 1.0}, {"a": 1.00}) are still journaled as each was posted.
        "raw": [item.raw_text for item in items],
    }
    constants = {"token_id": token.pk if token is not None else None, "channel": channel[:32],
                 "received_at": received_at}
    return send_columns(Event, columns, constants, on_conflict=False)
