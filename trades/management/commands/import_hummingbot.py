"""import_hummingbot FILE --account S: a hummingbot bot's trades database (fills, orders, funding)."""

from django.core.management.base import BaseCommand, CommandError

from accounts.management.lookup import account_named
from core.progress import Progress
from trades.management.importing import ImportFailed, add_store_arguments, import_items, store_url, summary
from trades.sources import hummingbot
from trades.sources.db import StoreDatabase, StoreError


class Command(BaseCommand):
    help = ("Import a hummingbot trades database (data/<config>.sqlite, or --db-url postgresql://…): its fills "
            "with their fees, its orders with their status, its funding payments. Read-only on the database; "
            "all or nothing; re-importing adds nothing (keys: the exchange's trade ids, hummingbot's order ids).")

    def add_arguments(self, parser):
        add_store_arguments(parser, bot="hummingbot", what="hummingbot:<config file name>")

    def handle(self, *args, **o):
        account = account_named(o["account"])
        url = store_url(o)
        items, labels, refused = [], [], []
        try:
            with StoreDatabase(url) as db:
                where = db.where
                for batch in hummingbot.read_everything(db, bot=o["bot"]):
                    refused.extend(f"{where}, {label}: {why}" for _key, label, why in batch.errors)
                    for group in batch.groups:
                        items.extend(group.items)
                        labels.extend([group.label] * len(group.items))
        except StoreError as exc:
            raise CommandError(f"nothing imported: {exc}")
        if refused:
            raise CommandError("nothing imported:\n" + "\n".join(refused))
        try:
            with Progress(len(items), label=f"import {where}", stream=self.stderr) as bar:
                counts = import_items(account=account, items=items, channel="import_hummingbot", progress=bar,
                                      where=lambda i: f"{where}, {labels[i]}")
        except ImportFailed as exc:
            raise CommandError("nothing imported:\n" + "\n".join(exc.messages))
        self.stdout.write(f"{where}: {len(items)} items into {account.slug}: {summary(counts)}.")
