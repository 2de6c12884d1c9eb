"""A jsonl source: a growing events.jsonl followed by byte offset — a partial last line waits for
its newline; a rotated or truncated file is read again from its start; nothing is booked twice."""

import json
import os

import pytest

from tests.factories import make_account
from trades.models import Fill, Source
from trades.sources.sync import sync_source

pytestmark = pytest.mark.django_db


def fill_line(n: int, **extra) -> str:
    return json.dumps({"type": "fill", "id": f"t-{n}", "symbol": "BTCUSDT", "side": "buy", "price": "100",
                       "quantity": "0.1", "executed_at": f"2025-01-01T00:00:{n:02d}Z", **extra})


@pytest.fixture
def account():
    return make_account("bot", base_currency="USDT")


@pytest.fixture
def path(tmp_path):
    return tmp_path / "events.jsonl"


@pytest.fixture
def source(account, path):
    return Source.objects.create(account=account, name="events", kind="jsonl", location=str(path))


def write(path, text: str, mode: str = "a") -> None:
    with open(path, mode) as handle:
        handle.write(text)


def ids(account) -> list[str]:
    return sorted(Fill.objects.filter(account=account).values_list("external_id", flat=True))


def test_lines_appended_are_booked_and_a_partial_last_line_waits_for_its_newline(account, source, path):
    write(path, fill_line(1) + "\n" + fill_line(2) + "\n" + fill_line(3)[:20])
    first = sync_source(source_id=source.pk)
    assert (first.status, first.counts["created"]) == ("done", 2)
    assert ids(account) == ["t-1", "t-2"]
    write(path, fill_line(3)[20:] + "\n")
    second = sync_source(source_id=source.pk)
    assert second.counts == {"created": 1, "duplicate": 0, "updated": 0}
    assert ids(account) == ["t-1", "t-2", "t-3"]
    assert sync_source(source_id=source.pk).counts == {"created": 0, "duplicate": 0, "updated": 0}
    source.refresh_from_db()
    assert source.cursor["offset"] == path.stat().st_size and source.cursor["line"] == 3


def test_the_older_lines_take_the_previous_lines_time_across_syncs(account, source, path):
    write(path, json.dumps({"type": "trade", "bot_id": "paper:x", "symbol": "BTCUSDT", "side": "buy",
                            "price": "100", "quantity": "1", "commission": "0.1",
                            "timestamp": "2025-01-01T00:00:00Z"}) + "\n")
    sync_source(source_id=source.pk)
    write(path, json.dumps({"type": "trade", "bot_id": "paper:x", "symbol": "BTCUSDT", "side": "sell",
                            "price": "110", "quantity": "1"}) + "\n")  # no timestamp: the previous line's
    result = sync_source(source_id=source.pk)
    assert result.counts["created"] == 1 and not result.refused
    times = sorted(Fill.objects.filter(account=account).values_list("executed_at", flat=True))
    assert times[0] == times[1]


def test_a_rotated_file_is_read_from_its_start(account, source, path):
    write(path, fill_line(1) + "\n" + fill_line(2) + "\n")
    sync_source(source_id=source.pk)
    os.rename(path, path.with_suffix(".jsonl.1"))  # logrotate's create mode: a new file, another inode
    write(path, fill_line(3) + "\n", mode="w")
    result = sync_source(source_id=source.pk)
    assert result.counts == {"created": 1, "duplicate": 0, "updated": 0}
    assert ids(account) == ["t-1", "t-2", "t-3"]


def test_a_truncated_file_is_read_from_its_start(account, source, path):
    write(path, fill_line(1) + "\n" + fill_line(2) + "\n")
    sync_source(source_id=source.pk)
    inode = path.stat().st_ino
    write(path, fill_line(4) + "\n", mode="w")  # copytruncate: the same file, shorter
    assert path.stat().st_ino == inode
    result = sync_source(source_id=source.pk)
    assert result.counts["created"] == 1 and ids(account) == ["t-1", "t-2", "t-4"]


def test_a_file_truncated_and_written_past_the_old_offset_is_read_again(account, source, path):
    write(path, fill_line(1) + "\n")
    sync_source(source_id=source.pk)
    write(path, fill_line(5) + "\n" + fill_line(6) + "\n", mode="w")  # longer than before, other first line
    result = sync_source(source_id=source.pk)
    assert result.counts["created"] == 2 and ids(account) == ["t-1", "t-5", "t-6"]


def test_a_line_that_is_not_json_or_is_refused_is_named_and_the_rest_booked(account, source, path):
    write(path, fill_line(1) + "\n" + "{oops\n" + fill_line(2, price="-1") + "\n" + fill_line(3) + "\n")
    result = sync_source(source_id=source.pk)
    assert result.counts["created"] == 2 and ids(account) == ["t-1", "t-3"]
    assert [r.split(":")[0] for r in result.refused] == ["line 2", "line 3"]
    assert result.refused[1] == "line 3: fill 't-2': price: must be greater than 0"
    source.refresh_from_db()
    assert source.last_error.startswith("line 2: not valid JSON")


def test_a_missing_file_fails_the_sync_and_says_so(account, source, path):
    result = sync_source(source_id=source.pk)
    assert (result.status, result.error) == ("failed", f"{path}: no such file")
