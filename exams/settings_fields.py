"""An exam's settings, declared once.

Each row of EXAM_SETTINGS is one setting: its model field (exams.models.Exam builds its columns
from these rows, so each stays a real Django field with its migration), the admin fieldset that
shows it and any limit the API adds. Its camelCase name in the API's `settings` object (the
reference document's shape) is derived from the field name. The API serializer, the admin
fieldsets, the services' accepted keys and the demo seed all read this list: a new setting is
one row here plus its migration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from exams.retention import MAX_RETENTION_DAYS, RETENTION_KINDS, RetentionKind
from exams.tuning import Sensitivity, risk_weights_validate


class SecurityLevel(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class ScreenShareLapse(models.TextChoices):
    """What a high-security exam does while the student's entire screen is not shared (refused at
    the start, or stopped): docs/PROTOCOL.md, "Screen capture"."""

    ALERT = "alert", _("Carry on: the proctors are alerted")
    BLOCK = "block", _("Hide the exam until the screen is shared (the clock runs)")
    PAUSE = "pause", _("Hide the exam until the screen is shared, and give that time back")


# Admin fieldset titles that hold settings (exams/admin.py places the fieldsets). Lazy, so each
# reader sees them in their language; compared by identity (exams/admin.py's _settings_in).
TIMING = _("Timing")
SETTINGS = _("Settings")
TUNING = _("Alerts and risk")
SCREEN = _("Screen capture")
RETENTION = _("Data retention")
ADMIN_GROUPS = (TIMING, SETTINGS, TUNING, SCREEN, RETENTION)


@dataclass(frozen=True)
class ExamSetting:
    name: str
    # Builds the model field; called once, when exams.models defines Exam.
    model_field: Callable[[], models.Field]
    admin_group: str
    # Limits the API adds to what the column allows, as DRF field keyword arguments.
    api_limits: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A setting in no fieldset would be missing from the admin without a word.
        if not any(self.admin_group is group for group in ADMIN_GROUPS):
            raise ValueError(f"{self.name}: admin group {self.admin_group!r} is not one of {ADMIN_GROUPS}")

    @property
    def api_name(self) -> str:
        """The setting's key in the API's camelCase `settings` object: auto_terminate → autoTerminate."""
        first, *rest = self.name.split("_")
        return first + "".join(word.capitalize() for word in rest)


# The admin's label of each kind's period (exams.retention.RETENTION_KINDS), one message each so
# that a translation can put the words in its own order.
RETENTION_FIELD_LABELS = {
    "frames": _("keep webcam pictures (days)"),
    "screenshots": _("keep screenshots (days)"),
    "audio": _("keep microphone levels (days)"),
    "room_scans": _("keep room video (days)"),
    "identity": _("keep identity pictures (days)"),
    "answers": _("keep answers (days)"),
}


def _retention_override(kind: RetentionKind) -> ExamSetting:
    """An exam's own period for one kind of data (exams.retention); empty: the site's."""
    return ExamSetting(
        kind.exam_field,
        lambda: models.PositiveIntegerField(
            RETENTION_FIELD_LABELS[kind.key],
            null=True,
            blank=True,
            default=None,
            help_text=format_lazy(
                _(
                    "Days after a session ends. Empty: the site's period ({setting}). "
                    "Never deleted while the result is not final or a review is open."
                ),
                setting=kind.setting,
            ),
        ),
        RETENTION,
        api_limits={"min_value": 0, "max_value": MAX_RETENTION_DAYS},
    )


EXAM_SETTINGS: tuple[ExamSetting, ...] = (
    ExamSetting(
        "allowed_attempts",
        lambda: models.PositiveSmallIntegerField(_("allowed attempts"), default=1),
        TIMING,
        api_limits={"min_value": 1, "max_value": 100},
    ),
    ExamSetting(
        "shuffle_questions", lambda: models.BooleanField(_("shuffle questions"), default=False), SETTINGS
    ),
    ExamSetting("show_results", lambda: models.BooleanField(_("show results"), default=False), SETTINGS),
    ExamSetting(
        "proctoring_enabled", lambda: models.BooleanField(_("proctoring enabled"), default=True), SETTINGS
    ),
    ExamSetting(
        "security_level",
        lambda: models.CharField(
            _("security level"), max_length=8, choices=SecurityLevel.choices, default=SecurityLevel.MEDIUM
        ),
        SETTINGS,
    ),
    # A proctor approves each student's start (the live monitor's admission panel).
    ExamSetting(
        "admission_required",
        lambda: models.BooleanField(
            _("proctor admits each student"),
            default=False,
            help_text=_(
                "Each student waits on the start page until a proctor, having seen their identity "
                "check, admits them; the clock starts only then."
            ),
        ),
        SETTINGS,
    ),
    ExamSetting(
        "auto_terminate",
        lambda: models.BooleanField(
            _("end sessions automatically"),
            default=False,
            help_text=_(
                "End a session when its risk score reaches the termination threshold. Off: proctors decide."
            ),
        ),
        SETTINGS,
    ),
    # How quickly conditions become alerts and what each weighs on the risk (exams/tuning.py,
    # docs/TUNING.md).
    ExamSetting(
        "sensitivity",
        lambda: models.CharField(
            _("sensitivity"),
            max_length=12,
            choices=Sensitivity.choices,
            default=Sensitivity.STANDARD,
            help_text=_(
                "How long what the camera and microphone show must last before it is an alert: "
                "conservative waits twice as long as standard, strict half as long."
            ),
        ),
        TUNING,
    ),
    ExamSetting(
        "risk_weights",
        lambda: models.JSONField(
            _("risk weights"),
            default=dict,
            blank=True,
            validators=[risk_weights_validate],
            help_text=_(
                "What one alert of a condition adds to the risk score, for the conditions this "
                'exam weighs differently: {"tab-switch": 0}. Empty: the defaults (docs/TUNING.md).'
            ),
        ),
        TUNING,
    ),
    # The student's entire screen, shared at the start: screenshots every few seconds and at each
    # high-severity alert (docs/PROTOCOL.md, "Screen capture"; stated on the privacy notice).
    ExamSetting(
        "screen_capture",
        lambda: models.BooleanField(
            _("capture the student's screen"),
            default=False,
            help_text=_(
                "The student shares their entire screen when the exam starts; a screenshot is "
                "kept every few seconds and at each high-severity alert. The privacy notice says so. "
                "Only with proctoring on."
            ),
        ),
        SCREEN,
    ),
    ExamSetting(
        "screenshot_interval_seconds",
        lambda: models.PositiveSmallIntegerField(
            _("seconds between screenshots"),
            default=30,
            help_text=_(
                "10 to 600. At 30 s a student-hour is about 120 screenshots, a few MB (docs/BENCHMARKS.md)."
            ),
        ),
        SCREEN,
        api_limits={"min_value": 10, "max_value": 600},
    ),
    ExamSetting(
        "screen_share_lapse",
        lambda: models.CharField(
            _("without the screen shared"),
            max_length=8,
            choices=ScreenShareLapse.choices,
            default=ScreenShareLapse.BLOCK,
            help_text=_(
                "At high security, what refusing or stopping the share does. Below high "
                "security the exam carries on and the proctors are alerted."
            ),
        ),
        SCREEN,
    ),
    # How long this exam's proctoring data is kept, per kind (docs/PRIVACY.md).
    *(_retention_override(kind) for kind in RETENTION_KINDS),
)

EXAM_SETTING_NAMES: tuple[str, ...] = tuple(setting.name for setting in EXAM_SETTINGS)


def exam_settings_from_api(values: Mapping[str, Any]) -> dict[str, Any]:
    """Model keyword arguments for settings given by their API (camelCase) names.

    Only the names given are returned; an unknown name raises KeyError, so a misspelt setting
    fails loudly instead of being ignored.
    """
    by_api_name = {setting.api_name: setting.name for setting in EXAM_SETTINGS}
    unknown = set(values) - set(by_api_name)
    if unknown:
        raise KeyError(f"not an exam setting: {', '.join(sorted(unknown))}")
    return {by_api_name[api_name]: value for api_name, value in values.items()}


def exam_settings_by_api_name(exam: Any) -> dict[str, Any]:
    """An exam's settings keyed by their API (camelCase) names, in registry order."""
    return {setting.api_name: getattr(exam, setting.name) for setting in EXAM_SETTINGS}
