"""How an exam tunes its proctoring, declared for the exam settings (exams.settings_fields):

- its **sensitivity** scales how long a condition the workers see (no face, two faces, speech…)
  must last before it is an alert: conservative waits twice as long (fewer alerts, each surer),
  strict half as long (quicker);
- its **risk weights** replace, per condition, what one alert of it adds to the risk score
  (by default the weight of the alert's severity).

Proctoring applies both (proctoring.tuning); which conditions have a weight, and their defaults,
are proctoring's (proctoring.conditions, proctoring.risk), which this layer may not import: the
proctoring app installs them here at start-up (`risk_weight_defaults_set`). Until it has, no
weight is accepted (fail-closed: an unchecked name would be stored and never mean anything).
docs/TUNING.md lists the defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Sensitivity(models.TextChoices):
    CONSERVATIVE = "conservative", _("Conservative: fewer, surer alerts")
    STANDARD = "standard", _("Standard")
    STRICT = "strict", _("Strict: quicker alerts")


# What each sensitivity multiplies a condition's onset by (its seconds at the exam's security
# level). An onset of 0 (an identity mismatch, a second voice) stays 0; browser events have none.
ONSET_FACTOR: dict[str, float] = {
    Sensitivity.CONSERVATIVE: 2.0,
    Sensitivity.STANDARD: 1.0,
    Sensitivity.STRICT: 0.5,
}

# One alert of weight 100 puts any session at the top of the scale on its own.
MAX_RISK_WEIGHT = 100

# {condition type: default weight} of the conditions an exam may weigh, installed by proctoring.
WeightDefaults = Callable[[], Mapping[str, float]]
_weight_defaults: WeightDefaults | None = None


def risk_weight_defaults_set(reader: WeightDefaults) -> None:
    """Install the reader of the conditions an exam may weigh and their default weights."""
    global _weight_defaults
    _weight_defaults = reader


def risk_weight_defaults() -> Mapping[str, float]:
    """{condition type: its default weight}, in the registry's order; empty until installed."""
    return _weight_defaults() if _weight_defaults is not None else {}


def risk_weights_validate(value: Any) -> None:
    """An exam's weights: a JSON object of condition types that count towards the risk, each a
    number from 0 to MAX_RISK_WEIGHT. The model field's validator, so the admin form, the API and
    exam_update (full_clean) all refuse the same values with the same words."""
    known = risk_weight_defaults()
    if not isinstance(value, dict):
        raise ValidationError(
            'Give the weights as a JSON object of condition and weight, e.g. {"tab-switch": 0}.',
            code="invalid",
        )
    unknown = sorted(name for name in value if name not in known)
    if unknown:
        raise ValidationError(
            "Not a condition that counts towards the risk: %(unknown)s. Those that do: %(known)s.",
            code="unknown_condition",
            params={"unknown": ", ".join(unknown), "known": ", ".join(known) or "none"},
        )
    wrong = [
        name
        for name, weight in value.items()
        if isinstance(weight, bool)
        or not isinstance(weight, int | float)
        or not 0 <= weight <= MAX_RISK_WEIGHT
    ]
    if wrong:
        raise ValidationError(
            "The weight of %(names)s must be a number from 0 to %(max)s.",
            code="out_of_range",
            params={"names": ", ".join(wrong), "max": MAX_RISK_WEIGHT},
        )


def risk_weights_help() -> str:
    """The admin's help text: the defaults an exam's weights replace."""
    defaults = ", ".join(f"{name} {weight:g}" for name, weight in risk_weight_defaults().items())
    return _(
        'Only the conditions to weigh differently, as JSON, e.g. {"tab-switch": 0}: what one alert '
        "adds to the risk score, 0 to %(max)s. The others keep their default, the weight "
        "of the alert's severity: %(defaults)s."
    ) % {"max": MAX_RISK_WEIGHT, "defaults": defaults}
