"""A few pipeline numbers (frame lag, dropped frames) kept in the cache, shared by every process,
and served at /metrics in Prometheus' text format."""

from __future__ import annotations

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

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
    values = cache.get_many([metric_key(name) for name in METRICS])
    lines = []
    for name, kind in METRICS.items():
        lines += [f"# TYPE procto_{name} {kind}", f"procto_{name} {values.get(metric_key(name), 0)}"]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4")
