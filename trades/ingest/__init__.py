"""Ingest: posted items -> ledger rows, journal and books, in one transaction (SPEC 4.1).

    record(accounts=[...], items=[...], token=..., channel="api", item_type="fill")

`service` is the route of a request; `validate` checks items against the table in
`schema`; `keyed` writes items with a key (insert, duplicate or conflict); `lifecycle`
applies orders, trade changes and closes, and voids; `journal` keeps every accepted item;
`bots` registers the posting bots; `formats/` translates what other tools write.
"""

from trades.ingest.service import IngestResult, record

__all__ = ["IngestResult", "record"]
