"""GET /metrics: Prometheus' text format, for a logged-in staff user (as the admin) or a scraper
sending `Authorization: Bearer <METRICS_TOKEN>`.

The counters and histograms are recorded where things happen (core.metrics); with
PROMETHEUS_MULTIPROC_DIR they are read from every process's files, so any web worker
answers for all of them. The lags are read from the database at the scrape: how far the
snapshot round and each source are behind now, whichever process did the work.
"""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from core import metrics
from snapshots.models import EquitySnapshot, SnapshotSource

logger = logging.getLogger(__name__)


@require_GET
def metrics_view(request):
    if not _allowed(request):
        response = HttpResponse("GET /metrics needs a staff login or Authorization: Bearer <METRICS_TOKEN>\n",
                                status=401, content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry()
    if metrics.MULTIPROCESS:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(_Lags())
    # The text format every Prometheus reads (the names here need none of 1.0.0's escaping).
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_PLAIN_0_0_4)


def _allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)


class _ThisProcess:
    """One process (no PROMETHEUS_MULTIPROC_DIR): its own registry, process figures included."""

    def collect(self):
        yield from REGISTRY.collect()


class _Lags:
    """Gauges read from the database at the scrape. A database that does not answer leaves them out
    and says so (`tradebook_metrics_database_up 0`): the rest of the scrape is still answered."""

    def collect(self):
        up = GaugeMetricFamily("tradebook_metrics_database_up",
                               "1 when the scrape could read the lags from the database, else 0.")
        try:
            families = list(self._read())
        except Exception as exc:  # a scrape must not fail with the database: it is what it reports
            logger.warning("metrics: the lags could not be read: %s: %s", type(exc).__name__, exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self):
        now = timezone.now()
        interval = GaugeMetricFamily("tradebook_snapshot_interval_seconds",
                                     "SNAPSHOT_INTERVAL: the snapshot round runs once per interval.")
        interval.add_metric([], settings.SNAPSHOT_INTERVAL)
        yield interval
        # The newest computed snapshot's interval start; the index on exchange_ts (retention's),
        # walked backwards, reaches it at once (computed snapshots are stamped with their bucket).
        newest = (EquitySnapshot.objects.filter(source=SnapshotSource.COMPUTED).order_by("-exchange_ts")
                  .values_list("bucket", flat=True).first())
        snapshot = GaugeMetricFamily(
            "tradebook_snapshot_lag_seconds",
            "Now minus the start of the newest interval the snapshot round wrote (about one to two intervals "
            "when it keeps up); absent before the first round.")
        if newest is not None:
            snapshot.add_metric([], (now - newest).total_seconds())
        yield snapshot
        yield from _source_families(now)


def _source_families(now):
    try:
        from trades.models import Source
    except ImportError:  # no sources in this version of the models
        return
    lag = GaugeMetricFamily("tradebook_source_lag_seconds",
                            "How far the books are behind an enabled source, on its own clock, as of its last "
                            "sync that read it.", labels=["source"])
    age = GaugeMetricFamily("tradebook_source_last_success_age_seconds",
                            "Now minus an enabled source's last successful sync.", labels=["source"])
    errors = GaugeMetricFamily("tradebook_source_failed_syncs", "An enabled source's failed syncs in a row.",
                               labels=["source"])
    for name, last_success_at, behind, failed in (Source.objects.filter(enabled=True).order_by("name")
                                                  .values_list("name", "last_success_at", "lag", "error_count")):
        if behind is not None:
            lag.add_metric([name], behind.total_seconds())
        if last_success_at is not None:
            age.add_metric([name], (now - last_success_at).total_seconds())
        errors.add_metric([name], failed)
    yield from (lag, age, errors)
