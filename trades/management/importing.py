"""What the import commands share: items written through `record` in chunks inside ONE
transaction, so a bad line anywhere writes nothing, with errors re-addressed to lines; and how
the commands that read a bot's database are told where it is."""

from collections.abc import Callable, Sequence

from django.core.management.base import CommandError
from django.db import transaction

from accounts.models import Account
from core.errors import TradebookError
from core.progress import Progress
from trades.ingest import record

CHUNK = 1000  # items per record() call: bounded memory per statement, one outer transaction


def add_store_arguments(parser, *, bot: str, what: str) -> None:
    """FILE or --db-url, --account, --bot: the arguments of a command that reads a bot's database."""
    parser.add_argument("file", nargs="?", help=f"The {bot} SQLite database (or give --db-url).")
    parser.add_argument("--db-url", help="sqlite:///path or postgresql://user@host/db.")
    parser.add_argument("--account", required=True, help="The account's slug.")
    parser.add_argument("--bot", help=f"The bot key to book under (default {what}).")


def store_url(options: dict) -> str:
    """The database the command reads: its FILE or --db-url, exactly one of them."""
    url = options["db_url"] or options["file"]
    if not url or (options["db_url"] and options["file"]):
        raise CommandError("give the database: a FILE or --db-url (not both)")
    return url


class ImportFailed(Exception):
    """Every error of the file, each naming its line; nothing was written."""

    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("\n".join(messages))


def import_items(*, account: Account, items: Sequence[dict], where: Callable[[int], str], channel: str,
                 progress: Progress | None = None) -> dict[str, int]:
    """Write `items` into `account` (all or nothing). `where(i)` names item i for errors ("file.jsonl, line 7")."""
    counts = {"created": 0, "duplicate": 0, "updated": 0}
    with transaction.atomic():
        for start in range(0, len(items), CHUNK):
            chunk = items[start:start + CHUNK]
            try:
                result = record(accounts=[account], items=chunk, channel=channel, default_account=account)
            except TradebookError as exc:
                # Leaving the atomic block by this exception rolls back the chunks already written.
                raise ImportFailed([describe(error, start, where) for error in exc.errors])
            for key, value in result.counts.items():
                counts[key] = counts.get(key, 0) + value
            if progress is not None:
                progress.advance(len(chunk))
    return counts


def describe(error: dict, offset: int, where: Callable[[int], str]) -> str:
    index = error.get("index")
    place = where(offset + index) if isinstance(index, int) else "file"
    field = f"{error['field']}: " if error.get("field") else ""
    return f"{place}: {field}{error['message']}"


def summary(counts: dict[str, int]) -> str:
    return f"{counts['created']} created, {counts['duplicate']} duplicate, {counts['updated']} updated"
