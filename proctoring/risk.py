"""A session's risk score: how much a proctor should look at it. Pure function, no I/O.

    risk = min(100, sum over events of weight(severity) x (1 + min(duration, 5 min) / 1 min))

with weights info 0, low 2, medium 5, high 10, critical 20 by the event's severity (a server event has its
condition's, from proctoring.conditions; a browser event the one the page reports, by default the
condition's). Conditions marked not to count (an automatic ending) are left out by the caller. An
event a proctor dismissed counts zero; one a proctor confirmed counts 1.5 times. So a single
30-second "no face" (medium) adds 7.5, two faces for a minute (high) adds 20, an identity mismatch
(critical) adds at least 20, and a student who switched tabs once (medium, instant) adds 5.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from proctoring.conditions import Severity

WEIGHTS = {
    Severity.INFO: 0.0,
    Severity.LOW: 2.0,
    Severity.MEDIUM: 5.0,
    Severity.HIGH: 10.0,
    Severity.CRITICAL: 20.0,
}
REVIEW_FACTOR = {"open": 1.0, "confirmed": 1.5, "dismissed": 0.0}
DURATION_CAP_SECONDS = 300.0


@dataclass(frozen=True)
class EventWeighting:
    severity: str
    duration_seconds: float
    review_status: str = "open"


def risk_score(events: Iterable[EventWeighting]) -> float:
    total = 0.0
    for event in events:
        minutes = min(max(event.duration_seconds, 0.0), DURATION_CAP_SECONDS) / 60.0
        total += (
            WEIGHTS.get(event.severity, 0.0) * (1.0 + minutes) * REVIEW_FACTOR.get(event.review_status, 1.0)
        )
    return round(min(100.0, total), 1)
