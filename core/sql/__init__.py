"""The fast SQL helpers: the only place that speaks each database's own dialect.

`statements` runs the hot path's statements (prepared, pipelined), `inserts` writes
rows (INSERT … ON CONFLICT … RETURNING), `reads` loads rows of our own SQL.
"""
