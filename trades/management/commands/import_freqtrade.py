"""import_freqtrade tradesv3.sqlite --account S: a freqtrade bot's history (SPEC 8)."""

from django.core.management.base import BaseCommand, CommandError

from accounts.management.lookup import account_named
from core.errors import TradebookError
from core.progress import Progress
from trades.ingest.formats import freqtrade
from trades.management.importing import ImportFailed, import_items, summary


class Command(BaseCommand):
    help = ("Import a freqtrade database (tradesv3.sqlite): its trades as trades with their plans, its filled "
            "orders as fills. All or nothing; re-importing adds nothing.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="The freqtrade sqlite database.")
        parser.add_argument("--account", required=True, help="The account's slug.")
        parser.add_argument("--bot", help="The bot key to book under (default freqtrade:<strategy>).")

    def handle(self, *args, **o):
        account = account_named(o["account"])
        path = o["file"]
        try:
            trades, orders = freqtrade.load(path)
            items, sources = freqtrade.translate(trades, orders, bot=o["bot"])
        except TradebookError as exc:
            raise CommandError("nothing imported:\n" + "\n".join(_lines(path, exc.errors)))
        try:
            with Progress(len(items), label=f"import {path}", stream=self.stderr) as bar:
                counts = import_items(account=account, items=items, channel="import_freqtrade", progress=bar,
                                      where=lambda i: f"{path}, trade {sources[i]}")
        except ImportFailed as exc:
            raise CommandError("nothing imported:\n" + "\n".join(exc.messages))
        self.stdout.write(f"{path}: {len(trades)} trades, {len(items)} items into {account.slug}: {summary(counts)}.")


def _lines(path: str, errors: list[dict]) -> list[str]:
    return [f"{path}: {e['field'] + ': ' if e.get('field') else ''}{e['message']}" for e in errors]
