"""/metrics in Prometheus' text format (prometheus_client), for staff who are logged in or a
scraper with the METRICS_TOKEN as its bearer token (how much is being analysed, and how many
students are misbehaving, is nobody else's business).

- The pipeline's numbers (frame lag, frames analysed, dropped...) are kept in the cache, shared
  by every process, and read at each scrape.
- `active_exam_sessions_total` and `proctoring_violations_total` (the reference document's
  names) are counted in the database at each scrape, so every process agrees; the proctoring
  app registers their collector (proctoring.metrics).
- `http_request_duration_seconds` is timed by procto.request_metrics in this process (set
  PROMETHEUS_MULTIPROC_DIR to add up several web processes, as prometheus_client documents).
"""

from __future__ import annotations

import hmac
import os

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

# The pipeline's numbers in the cache: name -> (Prometheus family, help).
METRICS = {
    "frame_lag_seconds": (GaugeMetricFamily, "Moving average of frames' age at analysis (from capture)."),
    "audio_lag_seconds": (
        GaugeMetricFamily,
        "Moving average of audio chunks' age at analysis (from capture; the exam page holds a chunk "
        "up to 2.5 s for the next frame's bundle).",
    ),
    "frames_analysed": (
        CounterMetricFamily,
        "Webcam frames analysed (frames_still included: those answered by the still-frame gate).",
    ),
    "frames_still": (
        CounterMetricFamily,
        "Frames the still-frame gate answered with the student's last calm frame's analysis.",
    ),
    "frames_magnified": (CounterMetricFamily, "Frames that also had the magnified search for small faces."),
    "frames_dropped": (CounterMetricFamily, "Frames dropped as stale under load."),
    "frames_unreadable": (CounterMetricFamily, "Frames that could not be decoded."),
    "identity_rechecks": (CounterMetricFamily, "Identity re-checks (dlib face embeddings) run on frames."),
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
    for collector in _COLLECTORS:
        registry.register(collector)
    return registry


class PipelineCollector:
    """The analysis pipeline's numbers, from the cache every process writes them to."""

    def describe(self):  # names for the registry, without reading the cache at import
        for name, (family, help_text) in METRICS.items():
            yield family(f"procto_{name}", help_text)

    def collect(self):
        values = cache.get_many([metric_key(name) for name in METRICS])
        for name, (family, help_text) in METRICS.items():
            yield family(f"procto_{name}", help_text, value=values.get(metric_key(name)) or 0)


# Collectors of every process's numbers: the pipeline's here, and those that the apps above
# register at start-up (collector_register), which count their own records.
_COLLECTORS: list = []


def collector_register(collector) -> None:
    """Serve `collector`'s families at /metrics (once; a second call with it does nothing)."""
    if collector not in _COLLECTORS:
        _COLLECTORS.append(collector)
        REGISTRY.register(collector)


collector_register(PipelineCollector())


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
