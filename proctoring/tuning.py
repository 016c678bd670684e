"""An exam's tuning as the proctoring record applies it (the settings: exams/tuning.py).

Everything that opens events or computes a risk reads the exam's values here, through
`exam_tuning`, never from the exam's columns or the registry on its own: the hysteresis of the
conditions the workers see (proctoring.detections), the risk update every event goes through,
browser and server alike (proctoring.services.session_risk_update), and the review page's
formula (`risk_formula`). docs/TUNING.md's table of defaults is `defaults_table()` (a test keeps
the two equal).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from exams.tuning import ONSET_FACTOR, Sensitivity
from proctoring.conditions import CONDITIONS, SECURITY_LEVELS, label_of, onset_seconds
from proctoring.risk import (
    DURATION_CAP_SECONDS,
    REVIEW_FACTOR,
    WEIGHTS,
    EventWeighting,
    default_weights,
    event_weight,
)


@dataclass(frozen=True)
class ExamTuning:
    security_level: str
    sensitivity: str
    # Only the conditions the exam weighs differently; the others weigh their severity's weight.
    weights: Mapping[str, float]

    @property
    def onset_factor(self) -> float:
        return ONSET_FACTOR.get(self.sensitivity, 1.0)

    def onset(self, type: str) -> float:
        """Seconds condition `type` must be seen before it is an event, for this exam."""
        return onset_seconds(type, self.security_level) * self.onset_factor

    def weight(self, type: str, severity: str) -> float:
        return event_weight(type, severity, self.weights)

    def weighting(
        self, type: str, severity: str, duration_seconds: float, review_status: str
    ) -> EventWeighting:
        """One event as proctoring.risk.risk_score counts it for this exam."""
        return EventWeighting(severity, duration_seconds, review_status, self.weight(type, severity))


def exam_tuning(exam: Any) -> ExamTuning:
    """The exam's sensitivity and weights (an `Exam`, or anything with its three columns)."""
    return ExamTuning(
        security_level=exam.security_level,
        sensitivity=exam.sensitivity,
        # An exam saved before its weights were checked may hold a name since removed from the
        # registry: it weighs nothing because no event has that type.
        weights=MappingProxyType(dict(exam.risk_weights or {})),
    )


@dataclass(frozen=True)
class WeightRow:
    type: str
    label: str
    default: float
    weight: float  # this exam's

    @property
    def changed(self) -> bool:
        return self.weight != self.default

    @property
    def weight_text(self) -> str:
        return f"{self.weight:g}"

    @property
    def default_text(self) -> str:
        return f"{self.default:g}"


@dataclass(frozen=True)
class RiskFormula:
    """What the review page states of how this exam's risk score is computed."""

    sensitivity: str
    sensitivity_label: str
    onset_factor: float
    duration_cap_minutes: float
    confirmed_factor: float
    dismissed_factor: float
    rows: tuple[WeightRow, ...]
    severity_weights: tuple[tuple[str, float], ...]  # the defaults: (severity, weight)

    @property
    def changed(self) -> tuple[WeightRow, ...]:
        return tuple(row for row in self.rows if row.changed)

    @property
    def severity_weights_text(self) -> str:
        return ", ".join(f"{severity} {weight:g}" for severity, weight in self.severity_weights)


def risk_formula(exam: Any) -> RiskFormula:
    """The risk formula with `exam`'s weights, one row per condition that counts towards the risk.
    A browser alert reported with another severity than its condition's weighs that severity's
    weight unless the exam sets one; the rows give the condition's own."""
    tuning = exam_tuning(exam)
    rows = tuple(
        WeightRow(type, label_of(type), default, tuning.weights.get(type, default))
        for type, default in default_weights().items()
    )
    return RiskFormula(
        sensitivity=tuning.sensitivity,
        sensitivity_label=Sensitivity(tuning.sensitivity).label,
        onset_factor=tuning.onset_factor,
        duration_cap_minutes=DURATION_CAP_SECONDS / 60,
        confirmed_factor=REVIEW_FACTOR["confirmed"],
        dismissed_factor=REVIEW_FACTOR["dismissed"],
        rows=rows,
        severity_weights=tuple((str(severity), weight) for severity, weight in WEIGHTS.items() if weight),
    )


def defaults_table() -> str:
    """docs/TUNING.md's table: each alert condition, its default weight and its onset at each
    security level, conservative / standard / strict (`manage.py tuning_defaults` prints it)."""
    weights = default_weights()
    sensitivities = " / ".join(ONSET_FACTOR)
    header = [
        "condition",
        "type",
        "default weight",
        *(f"onset at {level} (s): {sensitivities}" for level in SECURITY_LEVELS),
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for type_, row in CONDITIONS.items():
        if not row.alert:
            continue
        weight = f"{weights[type_]:g}" if type_ in weights else "not on the risk"
        onsets = [_onsets(type_, level) for level in SECURITY_LEVELS]
        lines.append(f"| {row.label} | `{type_}` | {weight} | " + " | ".join(onsets) + " |")
    return "\n".join(lines) + "\n"


def _onsets(type_: str, level: str) -> str:
    seconds = [onset_seconds(type_, level) * factor for factor in ONSET_FACTOR.values()]
    return " / ".join(f"{value:g}" for value in seconds) if any(seconds) else "at once"


# docs/TUNING.md holds defaults_table() between these lines.
TABLE_START = "<!-- defaults table: written by `manage.py tuning_defaults --write`, do not edit by hand -->"
TABLE_END = "<!-- end of defaults table -->"


def document_with_defaults(document: str) -> str:
    """`document` with the table between its markers replaced by the registry's."""
    head, start, rest = document.partition(TABLE_START)
    _, end, tail = rest.partition(TABLE_END)
    if not start or not end:
        raise ValueError("the document has no defaults table markers")
    return f"{head}{TABLE_START}\n{defaults_table()}{TABLE_END}{tail}"
