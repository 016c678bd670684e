"""A session's risk score: how much a proctor should look at it. Pure function, no I/O.

    risk = min(100, sum over alerts of weight x (1 + min(duration, 5 min) / 1 min) x review factor)

An alert's weight is its exam's weight for its condition where the exam sets one (its "risk
weights", read through proctoring.tuning), else the weight of the alert's severity: low 2,
medium 5, high 10, critical 20 (a server event has its condition's severity, from
proctoring.conditions; a browser event the one the page reports, by default the condition's).
A record (severity info) weighs 0 whatever the exam says; conditions marked not to count (an
automatic ending) are left out by the caller. The review factor: an alert a proctor dismissed
counts zero, one a proctor confirmed 1.5 times. So, with the defaults, a single 30-second
"no face" (medium) adds 7.5, two faces for a minute (high) adds 20, an identity mismatch
(critical) adds at least 20, and a student who switched tabs once (medium, instant) adds 5.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from proctoring.conditions import CONDITIONS, Severity

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
    # Its exam's weight for its condition (`event_weight`); None: its severity's.
    weight: float | None = None


def event_weight(type: str, severity: str, exam_weights: Mapping[str, float]) -> float:
    """What one alert of condition `type` reported with `severity` weighs for an exam whose own
    weights are `exam_weights` (only the conditions it weighs differently)."""
    if severity == Severity.INFO:  # a record: never on the risk
        return 0.0
    if type in exam_weights:
        return float(exam_weights[type])
    return WEIGHTS.get(severity, 0.0)


def default_weights() -> dict[str, float]:
    """{condition type: its default weight} for the conditions an exam may weigh: the alerts that
    count towards the risk, weighing their severity's weight unless the exam says otherwise."""
    return {
        row.type: WEIGHTS[row.severity] for row in CONDITIONS.values() if row.alert and row.counts_to_risk
    }


def risk_score(events: Iterable[EventWeighting]) -> float:
    total = 0.0
    for event in events:
        minutes = min(max(event.duration_seconds, 0.0), DURATION_CAP_SECONDS) / 60.0
        weight = WEIGHTS.get(event.severity, 0.0) if event.weight is None else event.weight
        total += weight * (1.0 + minutes) * REVIEW_FACTOR.get(event.review_status, 1.0)
    return round(min(100.0, total), 1)
