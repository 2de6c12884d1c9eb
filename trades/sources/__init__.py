"""Sources: the stores of bots tradebook follows without changing them (SPEC 6).

`db` opens a bot's database read-only (an SQLite file or PostgreSQL); `freqtrade`,
`hummingbot` and `jsonl` read what is new in each kind of store, by a cursor, and hand
rows to the pure translators of `trades.ingest.formats`; `sync` books them through
`trades.ingest.record`, one chunk per transaction with the cursor beside it. The import
commands, the Celery tasks and the admin's "sync now" all go through these.
"""
