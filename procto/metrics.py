"""/metrics in Prometheus' text format (prometheus_client), for staff who are logged in or a
scraper with the METRICS_TOKEN as its bearer token (how much is being analysed, and how many
students are misbehaving, is nobody else's business).

- The pipeline's numbers (frame lag, frames analysed, dropped...) are kept in the cache, shared
  by every process, and read at each scrape.
- `active_exam_sessions_total` and `proctoring_violations_total` (the reference document's
  names) are counted in the database at each scrape, so every process agrees.
- `http_request_duration_seconds` is timed by procto.request_metrics in this process (set
  PROMETHEUS_MULTIPROC_DIR to add up several web processes, as prometheus_client documents).
"""

from __future__ import annotations

import hmac
import os

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

METRICS = {
    "frame_lag_seconds": "gauge",  # exponential moving average of the queue lag of frames
    "audio_lag_seconds": "gauge",
    "frames_analysed": "counter",
    "frames_magnified": "counter",  # frames that also had the magnified search for small faces
    "frames_dropped": "counter",
    "frames_unreadable": "counter",
}
EMA_WEIGHT = 0.2


def metric_key(name: str) -> str:
    return f"metrics:{name}"


def gauge_average(previous: float | None, value: float) -> float:
    """The gauge's moving average after observing `value`."""
    return value if previous is None else previous + EMA_WEIGHT * (value - previous)


def metric_value(name: str) -> float | None:
    return cache.get(metric_key(name))


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _may_read_metrics(request):
        response = HttpResponse("Metrics need a staff login or the metrics token.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        response["Content-Type"] = "text/plain"
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


def _registry() -> CollectorRegistry:
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(_PIPELINE)
    registry.register(_RECORDS)
    return registry


class PipelineCollector:
    """The analysis pipeline's numbers, from the cache every process writes them to."""

    def describe(self):  # names for the registry, without reading the cache at import
        for name, kind in METRICS.items():
            family = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            yield family(f"procto_{name}", METRIC_HELP[name])

    def collect(self):
        values = cache.get_many([metric_key(name) for name in METRICS])
        for name, kind in METRICS.items():
            family = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            yield family(f"procto_{name}", METRIC_HELP[name], value=values.get(metric_key(name)) or 0)


class RecordsCollector:
    """Sessions in progress and server/browser violations so far, from the database."""

    def describe(self):  # without touching the database at import
        yield GaugeMetricFamily("active_exam_sessions_total", "Exam sessions in progress now.")
        yield CounterMetricFamily(
            "proctoring_violations", "Proctoring events raised.", labels=["type", "severity"]
        )

    def collect(self):
        from proctoring.models import ProctoringEvent
        from sessions.models import ExamSession

        active = ExamSession.objects.filter(status=ExamSession.Status.IN_PROGRESS).count()
        yield GaugeMetricFamily("active_exam_sessions_total", "Exam sessions in progress now.", value=active)
        violations = CounterMetricFamily(
            "proctoring_violations",
            "Proctoring events raised, by type and severity.",
            labels=["type", "severity"],
        )
        counts = ProctoringEvent.objects.values("type", "severity").annotate(n=Count("id")).order_by()
        for row in counts:
            violations.add_metric([row["type"], row["severity"]], row["n"])
        yield violations


METRIC_HELP = {
    "frame_lag_seconds": "Moving average of how long frames waited in the queue.",
    "audio_lag_seconds": "Moving average of how long audio chunks waited in the queue.",
    "frames_analysed": "Webcam frames analysed.",
    "frames_magnified": "Frames that also had the magnified search for small faces.",
    "frames_dropped": "Frames dropped as stale under load.",
    "frames_unreadable": "Frames that could not be decoded.",
}
_PIPELINE, _RECORDS = PipelineCollector(), RecordsCollector()
REGISTRY.register(_PIPELINE)
REGISTRY.register(_RECORDS)


def _may_read_metrics(request: HttpRequest) -> bool:
    if request.user.is_authenticated and request.user.is_staff:
        return True
    token = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return (
        bool(token)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(given.strip().encode(), token.encode())
    )
