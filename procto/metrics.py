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
    "frames_dropped": "counter",
    "frames_unreadable": "counter",
}
EMA_WEIGHT = 0.2


def metric_observe(name: str, value: float) -> None:
    key = f"metrics:{name}"
    if METRICS[name] == "counter":
        cache.add(key, 0, timeout=None)
        cache.incr(key, int(value))
        return
    previous = cache.get(key)
    cache.set(key, value if previous is None else previous + EMA_WEIGHT * (value - previous), timeout=None)


def metric_value(name: str) -> float | None:
    return cache.get(f"metrics:{name}")


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    values = cache.get_many([f"metrics:{name}" for name in METRICS])
    lines = []
    for name, kind in METRICS.items():
        lines += [f"# TYPE procto_{name} {kind}", f"procto_{name} {values.get(f'metrics:{name}', 0)}"]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4")
