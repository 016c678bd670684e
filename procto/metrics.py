"""A few pipeline numbers (frame lag, dropped frames) kept in the cache, shared by every process,
and served at /metrics in Prometheus' text format, to staff who are logged in or a scraper with
the METRICS_TOKEN as its bearer token (how much is being analysed is nobody else's business)."""

from __future__ import annotations

import hmac

from django.conf import settings
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
    if not _may_read_metrics(request):
        response = HttpResponse("Metrics need a staff login or the metrics token.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        response["Content-Type"] = "text/plain"
        return response
    values = cache.get_many([metric_key(name) for name in METRICS])
    lines = []
    for name, kind in METRICS.items():
        lines += [f"# TYPE procto_{name} {kind}", f"procto_{name} {values.get(metric_key(name), 0)}"]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4")


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
