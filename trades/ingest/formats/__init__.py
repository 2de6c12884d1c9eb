"""Pure translators from foreign payloads to canonical items (SPEC 4.1 dicts with "type").

Nothing here touches the database: a translator takes what a bot, an exchange
library or an older file gives and returns the items `trades.ingest.record` takes.
Each raises `TradebookError` naming the index and field of what it cannot read.
"""
