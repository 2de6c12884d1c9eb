"""import_csv FILE --account S: fills from a CSV whose header names our fields (SPEC 8)."""

from django.core.management.base import BaseCommand, CommandError

from accounts.management.lookup import account_named
from core.errors import TradebookError
from core.progress import Progress
from trades.ingest.formats import csvfills
from trades.management.importing import ImportFailed, import_items, summary


class Command(BaseCommand):
    help = ("Import fills from a CSV file: a header row with the fill's field names (id, symbol, side, price, "
            "quantity, executed_at required; fee, fee_currency, order_id, trade_id, … optional). All or nothing.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file (UTF-8).")
        parser.add_argument("--account", required=True, help="The account's slug.")

    def handle(self, *args, **o):
        account = account_named(o["account"])
        path = o["file"]
        try:
            with open(path, newline="", encoding="utf-8-sig") as handle:
                items, lines = csvfills.translate(handle, name=path)
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror or exc}")
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path}: not UTF-8 text: {exc}")
        except TradebookError as exc:
            raise CommandError("nothing imported:\n" + "\n".join(e["message"] for e in exc.errors))
        try:
            with Progress(len(items), label=f"import {path}", stream=self.stderr) as bar:
                counts = import_items(account=account, items=items, channel="import_csv", progress=bar,
                                      where=lambda i: f"{path}, line {lines[i]}")
        except ImportFailed as exc:
            raise CommandError("nothing imported:\n" + "\n".join(exc.messages))
        self.stdout.write(f"{path}: {len(items)} items into {account.slug}: {summary(counts)}.")
