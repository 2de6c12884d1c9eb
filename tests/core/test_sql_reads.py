"""Rows read by COPY come back as the database holds them: NULLs, tabs, newlines and backslashes included."""

import pytest
from django.db import connection

from core.sql.reads import copy_out

pytestmark = pytest.mark.django_db


def test_copy_out_gives_every_field_back_exactly():
    if connection.vendor != "postgresql":
        pytest.skip("COPY: PostgreSQL")
    values = ["plain", "tab\there", "new\nline", "back\\slash", "\\N", "", "é 中 𝄞"]
    query = "COPY (SELECT v, NULL::text, length(v) FROM unnest(%s::text[]) AS v) TO STDOUT"
    with connection.cursor() as cursor:
        quoted = cursor.mogrify(query, [values])
    rows = list(copy_out(quoted, list))
    assert [row[0] for row in rows] == values
    assert all(row[1] is None for row in rows)
    assert [int(row[2]) for row in rows] == [len(v) for v in values]
