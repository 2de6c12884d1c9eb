"""export --account S --what fills|trades|signals|snapshots|events --format csv|jsonl [--output FILE] (SPEC 8)."""

import os
import sys

from django.core.management.base import BaseCommand, CommandError

from accounts.management.lookup import account_named
from core.progress import note
from trades.management import exporting


class Command(BaseCommand):
    help = ("Export an account's fills, trades, signals, snapshots or journal, oldest first, as CSV or JSONL "
            "(canonical items that import_events takes back). Streamed; exact decimal strings.")

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True, help="The account's slug.")
        parser.add_argument("--what", required=True, choices=exporting.WHAT)
        parser.add_argument("--format", default="jsonl", choices=("csv", "jsonl"))
        parser.add_argument("--output", help="A file to write (default: standard output).")

    def handle(self, *args, **o):
        account = account_named(o["account"])
        target = o["output"]
        try:
            out = open(target, "w", newline="", encoding="utf-8") if target else None
        except OSError as exc:
            raise CommandError(f"{target}: {exc.strerror or exc}")
        # Rows go straight to the stream as the iterator yields them: nothing is held in memory.
        stream = out if out is not None else (getattr(self.stdout, "_out", None) or sys.stdout)
        try:
            if o["format"] == "jsonl":
                count = exporting.write_jsonl(exporting.jsonl_items(account, o["what"]), stream)
            else:
                header, rows = exporting.csv_rows(account, o["what"])
                count = exporting.write_csv(header, rows, stream)
        except BrokenPipeError:
            # `export … | head`: the reader has all it wants. Quiet, like any Unix filter.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return
        finally:
            if out is not None:
                out.close()
        # The summary goes to stderr so that stdout stays a clean file.
        note(self.stderr, f"Exported {count} {'lines' if o['format'] == 'jsonl' else 'rows'} of {o['what']} "
                          f"of {account.slug}" + (f" to {target}." if target else "."))
