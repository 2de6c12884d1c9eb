"""Retention of snapshots and marks (SPEC 6): raw, then one an hour, then one a day.

Every series — marks per (account, symbol); position snapshots per (account,
source, symbol); wallet snapshots per (account, coin); equity snapshots per
(account, source, bot) — is thinned by age:

- younger than SNAPSHOT_RETENTION_DAYS: every row is kept (the raw window);
- then, for SNAPSHOT_HOURLY_DAYS more: the newest row of each hour is kept;
- older: the newest row of each day is kept.

The zone edges are floored to an hour / a day, so an hour or a day never straddles
two zones and a second run deletes nothing (idempotent). Keeping the *newest* of a
slot means the newest row of a series always survives — the books value open
positions at the newest mark, so a symbol that stopped ticking keeps its last price.

Deletes go by primary key in bounded batches, each its own short statement, so the
nightly job never holds a long lock on tables the API writes to. The slot ranking
is a window function (ROW_NUMBER) evaluated one day (hourly zone) or one week
(daily zone) at a time, over the `<model>_time` indexes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import DateTimeField, F, Min, Model, Window
from django.db.models.functions import RowNumber, Trunc
from django.utils import timezone

from snapshots.models import EquitySnapshot, Mark, PositionSnapshot, WalletSnapshot

DEFAULT_BATCH_SIZE = 5000


@dataclass(frozen=True)
class Series:
    label: str
    model: type[Model]
    time_field: str
    partition: tuple[str, ...]


SERIES = (
    Series("marks", Mark, "ts", ("account_id", "symbol")),
    Series("position snapshots", PositionSnapshot, "exchange_ts", ("account_id", "source", "symbol")),
    Series("wallet snapshots", WalletSnapshot, "exchange_ts", ("account_id", "coin")),
    Series("equity snapshots", EquitySnapshot, "exchange_ts", ("account_id", "source", "bot_id")),
)


@dataclass
class Pruned:
    raw_since: datetime  # rows at or after this are all kept
    hourly_since: datetime  # rows in [hourly_since, raw_since) are kept one per hour; older one per day
    deleted: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def cutoffs(now: datetime) -> tuple[datetime, datetime]:
    """(raw_since, hourly_since) for a run at `now`: hour- and day-aligned, UTC."""
    raw_since = (now - timedelta(days=settings.SNAPSHOT_RETENTION_DAYS)).astimezone(UTC)
    raw_since = raw_since.replace(minute=0, second=0, microsecond=0)
    hourly_since = (raw_since - timedelta(days=settings.SNAPSHOT_HOURLY_DAYS)).replace(hour=0)
    return raw_since, hourly_since


def prune_snapshots(*, now: datetime | None = None, batch_size: int = DEFAULT_BATCH_SIZE) -> Pruned:
    """Apply the retention policy to every series; returns how many rows of each were deleted."""
    raw_since, hourly_since = cutoffs(now or timezone.now())
    result = Pruned(raw_since=raw_since, hourly_since=hourly_since)
    for series in SERIES:
        deleted = _thin(series, start=hourly_since, end=raw_since, slot="hour", step=timedelta(days=1),
                        batch_size=batch_size)
        oldest = series.model.objects.filter(**{f"{series.time_field}__lt": hourly_since}).aggregate(
            oldest=Min(series.time_field)
        )["oldest"]
        if oldest is not None:
            start = oldest.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            deleted += _thin(series, start=start, end=hourly_since, slot="day", step=timedelta(days=7),
                             batch_size=batch_size)
        result.deleted[series.label] = deleted
    return result


def _thin(series: Series, *, start: datetime, end: datetime, slot: str, step: timedelta, batch_size: int) -> int:
    """Delete all but the newest row of each (series, slot) in [start, end), window by window."""
    deleted = 0
    window_start = start
    while window_start < end:
        window_end = min(window_start + step, end)
        for ids in _batches(_surplus_ids(series, window_start, window_end, slot), batch_size):
            deleted += series.model.objects.filter(pk__in=ids).delete()[0]
        window_start = window_end
    return deleted


def _surplus_ids(series: Series, start: datetime, end: datetime, slot: str) -> list[int]:
    time = series.time_field
    ranked = series.model.objects.filter(**{f"{time}__gte": start, f"{time}__lt": end}).annotate(
        slot_rank=Window(
            RowNumber(),
            partition_by=[F(name) for name in series.partition]
            + [Trunc(time, slot, output_field=DateTimeField(), tzinfo=UTC)],
            order_by=[F(time).desc(), F("id").desc()],
        )
    )
    # Materialised before deleting: no cursor stays open over rows being deleted.
    return list(ranked.filter(slot_rank__gt=1).values_list("id", flat=True))


def _batches(ids: list[int], size: int):
    for i in range(0, len(ids), size):
        yield ids[i:i + size]
