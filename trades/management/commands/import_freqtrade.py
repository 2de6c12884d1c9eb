"""import_freqtrade tradesv3.sqlite --account S: a freqtrade bot's history (SPEC 8)."""

from django.core.management.base import BaseCommand, CommandError

from accounts.management.lookup import account_named
from core.errors import TradebookError
from core.progress import Progress
from trades.management.importing import ImportFailed, add_store_arguments, import_items, store_url, summary
from trades.sources import freqtrade
from trades.sources.db import StoreDatabase, StoreError


class Command(BaseCommand):
    help = ("Import a freqtrade database (tradesv3.sqlite, or --db-url postgresql://…): its filled orders as "
            "fills with their own fees, funding as cash flows, its closed trades as trades. Read-only on the "
            "database; all or nothing; re-importing adds nothing.")

    def add_arguments(self, parser):
        add_store_arguments(parser, bot="freqtrade", what="freqtrade:<strategy>")

    def handle(self, *args, **o):
        account = account_named(o["account"])
        url = store_url(o)
        try:
            with StoreDatabase(url) as db:
                where = db.where
                trades = freqtrade.read_everything(db, bot=o["bot"])
        except StoreError as exc:
            raise CommandError(f"nothing imported: {exc}")
        except TradebookError as exc:
            raise CommandError("nothing imported:\n" + "\n".join(f"{url}: {e['field'] + ': ' if e.get('field') else ''}"
                                                                 f"{e['message']}" for e in exc.errors))
        items, owners = [], []
        for trade in trades:
            items.extend(trade.items)
            owners.extend([trade.trade_id] * len(trade.items))
        try:
            with Progress(len(items), label=f"import {where}", stream=self.stderr) as bar:
                counts = import_items(account=account, items=items, channel="import_freqtrade", progress=bar,
                                      where=lambda i: f"{where}, trade {owners[i]}")
        except ImportFailed as exc:
            raise CommandError("nothing imported:\n" + "\n".join(exc.messages))
        self.stdout.write(f"{where}: {len(trades)} trades, {len(items)} items into {account.slug}: {summary(counts)}.")
