"""import_events FILE.jsonl --account S: a bot's events.jsonl, canonical items and older lines (SPEC 8)."""

from django.core.management.base import BaseCommand, CommandError

from accounts.management.lookup import account_named
from core.exact_json import loads_exact
from core.progress import Progress
from trades.ingest.formats.legacy import fill_missing_timestamps, key_unkeyed_signals
from trades.management.importing import ImportFailed, import_items, summary


class Command(BaseCommand):
    help = ("Import a JSONL file of events (one item with \"type\" a line, as POST /api/v1/events/ takes, and "
            "the older trade/metric/position lines) into an account. All or nothing; safe to re-run.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="The .jsonl file ('-' for stdin is not supported: give a path).")
        parser.add_argument("--account", required=True, help="The account's slug.")

    def handle(self, *args, **o):
        account = account_named(o["account"])
        path = o["file"]
        items, lines, errors = [], [], []
        try:
            with open(path, "rb") as handle:
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        item = loads_exact(line)
                    except (ValueError, UnicodeDecodeError) as exc:
                        errors.append(f"{path}, line {number}: not valid JSON: {exc}")
                        continue
                    if not isinstance(item, dict):
                        errors.append(f"{path}, line {number}: must be a JSON object with \"type\"")
                        continue
                    items.append(item)
                    lines.append(number)
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror or exc}")
        if errors:
            raise CommandError("nothing imported:\n" + "\n".join(errors))
        # A line without `timestamp` takes the previous line's: stateful, so over the whole file.
        items = key_unkeyed_signals(fill_missing_timestamps(items))
        try:
            with Progress(len(items), label=f"import {path}", stream=self.stderr) as bar:
                counts = import_items(account=account, items=items, channel="import_events", progress=bar,
                                      where=lambda i: f"{path}, line {lines[i]}")
        except ImportFailed as exc:
            raise CommandError("nothing imported:\n" + "\n".join(exc.messages))
        self.stdout.write(f"{path}: {len(items)} items into {account.slug}: {summary(counts)}.")
