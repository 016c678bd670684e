"""How long each kind of proctoring data is kept, declared once (docs/PRIVACY.md).

Each kind has a site-wide period in days (settings.DATA_RETENTION_DAYS, from the RETENTION_*_DAYS
variables) that an exam may override (one nullable column per kind, `retention_<kind>_days`, in
exams.settings_fields). The periods are counted from the end of the session the data belongs to,
and nothing is deleted while that session's result is not final or its review is open
(proctoring.retention applies them). The consent page states them, from here.

No model import: exams.settings_fields builds the exam's columns from RETENTION_KINDS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings


@dataclass(frozen=True)
class RetentionKind:
    key: str  # settings.DATA_RETENTION_DAYS[key]; the exam's column is retention_<key>_days
    label: str  # as the consent page and the admin name it
    what: str  # what it covers, in the student's words

    @property
    def exam_field(self) -> str:
        return f"retention_{self.key}_days"

    @property
    def setting(self) -> str:
        """The environment variable of its site-wide period."""
        return f"RETENTION_{self.key.upper()}_DAYS"


RETENTION_KINDS: tuple[RetentionKind, ...] = (
    RetentionKind(
        "frames",
        "Webcam pictures",
        "the pictures saved with alerts, and the count of faces seen during the exam",
    ),
    RetentionKind(
        "screenshots",
        "Screenshots",
        "the pictures of your screen taken during the exam, when the exam captures your screen",
    ),
    RetentionKind(
        "audio",
        "Microphone levels",
        "how loud your microphone was, second by second (the sound itself is never stored)",
    ),
    RetentionKind("room_scans", "Room video", "the video of your room recorded before the exam"),
    RetentionKind(
        "identity",
        "Identity pictures",
        "the webcam photo compared with your ID photo before the exam",
    ),
    RetentionKind(
        "answers",
        "Answers",
        "your answers, with the marks and feedback on each",
    ),
)
RETENTION_KEYS: tuple[str, ...] = tuple(kind.key for kind in RETENTION_KINDS)
# The longest period an exam may set: ten years.
MAX_RETENTION_DAYS = 3650


def site_retention_days(key: str) -> int:
    """The site-wide period of kind `key`, in days."""
    return settings.DATA_RETENTION_DAYS[key]


def retention_days(exam: Any, key: str) -> int:
    """The period of kind `key` for `exam`: its own, else the site's."""
    own = getattr(exam, f"retention_{key}_days")
    return site_retention_days(key) if own is None else own


@dataclass(frozen=True)
class RetentionPeriod:
    kind: RetentionKind
    days: int


def retention_periods(exam: Any) -> list[RetentionPeriod]:
    """Every kind's period for `exam`, in registry order."""
    return [RetentionPeriod(kind, retention_days(exam, kind.key)) for kind in RETENTION_KINDS]
