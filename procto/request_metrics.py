"""`http_request_duration_seconds`: every HTTP request's time, by method, route and status.

Labelled by the URL pattern that matched (`api/exams/<int:exam_id>`), not the path, so the
number of series stays bounded whatever ids or junk clients send.
"""

from __future__ import annotations

import time

from prometheus_client import Histogram

REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetricsMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None and match.route else "unmatched"
        method = request.method if request.method in KNOWN_METHODS else "other"
        REQUEST_SECONDS.labels(method, route, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response
