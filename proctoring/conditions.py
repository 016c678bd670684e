"""Every condition a session's record can hold, once: what it is called, who may report it, how
severe it is, how long it must last before it is an event, what the student is told about it, and
(for those the workers derive from media) the rule that derives it.

The pipeline, `analyze_media`, the event types of `ProctoringEvent`, the risk score, the policy
and the monitor page all read this table. Adding a condition is one row here (plus, for a new kind
of analysis, the detector that produces it) and a migration for the model's choices.

Pure data and pure functions: no Django, MediaPipe, dlib or OpenCV import, so the web process can
read it. Its words (labels, warnings, dismiss reasons) are English here, marked for translation
with gettext_noop and translated where they are read (label_of, warning_of, monitor_conditions: in
the reader's language). Predicates take the detectors' result dataclasses duck-typed (`FrameAnalysis`, and an
`AudioObservation` around a `ChunkAnalysis`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


def _(message: str) -> str:
    """Marks a phrase for makemessages (the name xgettext looks for is `_`), without importing
    Django here; the readers below translate it."""
    return message


def _translated(message: str) -> str:
    from django.utils.translation import gettext  # here: this module imports no Django

    return gettext(message) if message else message


class Severity(StrEnum):
    # A record, not an alert: kept on the session's timeline and in its exports, never sent to the
    # monitors, never reviewed (review status "none"), no weight in the risk score.
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


def severity_rank(severity: str) -> int:
    """0 for info up to 4 for critical (unknown: 0), for sorting alerts most severe first."""
    order = list(Severity)
    return order.index(severity) if severity in order else 0


class Observes(StrEnum):
    """What a server condition is derived from."""

    FRAME = "frame"  # one webcam frame (detectors.faces.FrameAnalysis, and the identity recheck)
    AUDIO = "audio"  # one second of microphone audio (AudioObservation)
    HEARTBEAT = "heartbeat"  # the stream's silence (proctoring.heartbeat)
    SESSION = "session"  # the session's own course (an automatic ending)


@dataclass(frozen=True)
class AudioObservation:
    """One loud audio chunk as the audio conditions see it."""

    chunk: Any  # detectors.audio.ChunkAnalysis
    voices: int  # distinct voices the session's tracker has heard so far


SECURITY_LEVELS = ("low", "medium", "high")


def _per_level(low: float, medium: float, high: float) -> dict[str, float]:
    return dict(zip(SECURITY_LEVELS, (low, medium, high), strict=True))


@dataclass(frozen=True)
class Condition:
    type: str  # ProctoringEvent.type
    label: str  # as the monitor and review pages name it (in English: label_of translates it)
    severity: Severity  # for server events; the default for a browser that does not say
    client: bool = False  # a student's browser may report it about itself
    observes: Observes | None = None  # derived by the server from this (None: browser only)
    predicate: Callable[[Any], bool] | None = None  # the rule, for frame and audio conditions
    # Seconds a server condition must last before it is an event, per exam security level.
    onset: Mapping[str, float] = field(default_factory=dict)
    warning: str = ""  # what a proctor's warning to the student says by default
    counts_to_risk: bool = True

    @property
    def alert(self) -> bool:
        """Whether its events are alerts (monitored, reviewed) or records only (info)."""
        return self.severity != Severity.INFO


STAY_IN_VIEW = _("Please stay in view of your camera for the whole exam.")
ALONE = _("Only you may be in the room during the exam.")
STAY_ON_PAGE = _("Stay on the exam page: other tabs and windows are not allowed.")
SHARE_SCREEN = _("This exam records your screen: share your entire screen again.")

_ROWS = (
    Condition(
        "face-not-visible",
        _("Face not visible"),
        Severity.MEDIUM,
        client=True,
        observes=Observes.FRAME,
        predicate=lambda frame: frame.face_count == 0 and not frame.camera_blocked,
        onset=_per_level(20, 10, 6),
        warning=STAY_IN_VIEW,
    ),
    Condition(
        "multiple-faces",
        _("Multiple faces"),
        Severity.HIGH,
        client=True,
        observes=Observes.FRAME,
        predicate=lambda frame: frame.face_count >= 2,
        onset=_per_level(6, 4, 2),
        warning=ALONE,
    ),
    Condition(
        "mic-activity",
        _("Mic activity"),
        Severity.LOW,
        client=True,
        observes=Observes.AUDIO,
        predicate=lambda audio: audio.chunk.tonal and not audio.chunk.speech,
    ),
    Condition("tab-switch", _("Tab switch"), Severity.MEDIUM, client=True, warning=STAY_ON_PAGE),
    Condition(
        "off-screen",
        _("Off screen"),
        Severity.MEDIUM,
        client=True,
        observes=Observes.FRAME,
        predicate=lambda frame: frame.face_count == 1 and frame.looking_away,
        onset=_per_level(20, 10, 6),
        warning=_("Please keep your eyes on your own screen."),
    ),
    # The record of an ending before the student submitted: by the risk policy (source server,
    # details say what triggered it) or by a proctor (source proctor, details.reason). Its name is
    # the reference's; it is not a finding: a reviewer confirming it is (sessions.outcomes). The
    # result of the risk, not a cause of more.
    Condition(
        "cheating-detected",
        _("Exam ended early"),
        Severity.CRITICAL,
        observes=Observes.SESSION,
        counts_to_risk=False,
    ),
    # A picture of the student's shared screen, kept as this record's picture (the reference's
    # snapshotUrl): every few seconds, and at each high-severity alert (details.trigger). Stored by
    # the screenshot upload (proctoring.screen), never reported as a browser event.
    Condition("screenshot-captured", _("Screenshot captured"), Severity.INFO),
    Condition("window-blur", _("Window blur"), Severity.LOW, client=True, warning=STAY_ON_PAGE),
    Condition("fullscreen-exit", _("Fullscreen exit"), Severity.HIGH, client=True),
    Condition("copy", _("Copy"), Severity.MEDIUM, client=True),
    Condition("cut", _("Cut"), Severity.MEDIUM, client=True),
    Condition("paste", _("Paste"), Severity.MEDIUM, client=True),
    Condition("right-click", _("Right click"), Severity.LOW, client=True),
    Condition("print-screen", _("Print screen"), Severity.MEDIUM, client=True),
    # No longer reported by the exam page (docs/PROTOCOL.md, "Browser events"): kept for the
    # events already recorded and for older pages.
    Condition("devtools-open", _("Devtools open"), Severity.MEDIUM, client=True),
    Condition("second-screen", _("Second screen"), Severity.HIGH, client=True),
    # The page went away (closed, navigated elsewhere). Held back as a record until the page could
    # have come back: a reload reports `page-reload` and the departure is no alert at all
    # (proctoring.services.departure_record / departures_settle).
    Condition("page-leave", _("Page leave"), Severity.MEDIUM, client=True),
    Condition("page-reload", _("Page reload"), Severity.INFO, client=True),
    Condition("camera-lost", _("Camera lost"), Severity.HIGH, client=True),
    # The exam captures the screen (exams.settings_fields `screen_capture`): the student refused
    # to share their entire screen (cancelled the browser's picker, or chose a window or a tab),
    # or stopped sharing it; and, as a record, each time the share (re)started.
    Condition(
        "screen-share-refused",
        _("Screen share refused"),
        Severity.HIGH,
        client=True,
        warning=SHARE_SCREEN,
    ),
    Condition(
        "screen-share-stopped",
        _("Screen share stopped"),
        Severity.HIGH,
        client=True,
        warning=SHARE_SCREEN,
    ),
    Condition("screen-share-started", _("Screen share started"), Severity.INFO, client=True),
    Condition("microphone-lost", _("Microphone lost"), Severity.HIGH, client=True),
    Condition("stream-lost", _("Stream lost"), Severity.HIGH, observes=Observes.HEARTBEAT),
    # Checked every few minutes against the verified photo (pipeline._identity_recheck), not
    # derived from the frame's analysis: no predicate.
    Condition(
        "identity-mismatch",
        _("Identity mismatch"),
        Severity.CRITICAL,
        observes=Observes.FRAME,
        onset=_per_level(0, 0, 0),
    ),
    Condition(
        "camera-blocked",
        _("Camera blocked"),
        Severity.HIGH,
        observes=Observes.FRAME,
        predicate=lambda frame: frame.camera_blocked,
        onset=_per_level(20, 10, 4),
        warning=_("Your camera is covered. Uncover it now."),
    ),
    Condition(
        "speech-detected",
        _("Speech detected"),
        Severity.MEDIUM,
        observes=Observes.AUDIO,
        predicate=lambda audio: audio.chunk.speech,
        onset=_per_level(6, 4, 2),
        warning=_("Please do not talk during the exam."),
    ),
    Condition(
        "multiple-voices",
        _("Multiple voices"),
        Severity.HIGH,
        observes=Observes.AUDIO,
        predicate=lambda audio: audio.voices >= 2,
        onset=_per_level(0, 0, 0),
        warning=ALONE,
    ),
    Condition(
        "background-noise",
        _("Background noise"),
        Severity.LOW,
        observes=Observes.AUDIO,
        predicate=lambda audio: audio.chunk.background_noise and not audio.chunk.speech,
        onset=_per_level(30, 20, 10),
    ),
)

# By type, in the order above. Read through the functions below (a test may add a row).
CONDITIONS: dict[str, Condition] = {row.type: row for row in _ROWS}


def condition_get(type: str) -> Condition | None:
    return CONDITIONS.get(type)


def observed_from(observes: Observes) -> list[str]:
    """The condition types the server derives from this kind of observation."""
    return [c.type for c in CONDITIONS.values() if c.observes == observes]


def conditions_derive(observes: Observes, observation: Any) -> dict[str, bool]:
    """Apply every predicate of this kind of observation: {type: present}."""
    return {
        c.type: bool(c.predicate(observation))
        for c in CONDITIONS.values()
        if c.observes == observes and c.predicate is not None
    }


def client_types() -> frozenset[str]:
    """What a student's browser may report about itself; analysis results come from the server."""
    return frozenset(c.type for c in CONDITIONS.values() if c.client)


def severity_of(type: str) -> Severity:
    row = CONDITIONS.get(type)
    return row.severity if row else Severity.MEDIUM


def onset_seconds(type: str, security_level: str) -> float:
    row = CONDITIONS.get(type)
    return row.onset.get(security_level, 0.0) if row else 0.0


def record_only_types() -> list[str]:
    """Conditions whose events are records, not alerts (severity info)."""
    return [c.type for c in CONDITIONS.values() if not c.alert]


def risk_excluded_types() -> list[str]:
    return [c.type for c in CONDITIONS.values() if not c.counts_to_risk]


def label_of(type: str) -> str:
    """The condition's name in the active language (a plain str, safe to cache or send)."""
    row = CONDITIONS.get(type)
    return _translated(row.label) if row else type.replace("-", " ").capitalize()


def warning_of(condition: Condition) -> str:
    """What a proctor's warning about this condition says by default, in the active language."""
    return _translated(condition.warning)


# Reasons a proctor can pick when dismissing an alert, by what raised it: "nothing suspicious on
# camera" is no reason to dismiss a voice, nor a tab switch.
DISMISS_ON_CAMERA = (
    _("False alarm: nothing suspicious on camera."),
    _("The light or the camera's angle misled the analysis."),
    _("The student explained it (technical problem)."),
)
DISMISS_IN_SOUND = (
    _("False alarm: nothing suspicious in the sound."),
    _("Noise from outside the room, not another person."),
    _("The student was reading the question aloud to themselves."),
)
DISMISS_IN_BROWSER = (
    _("An accidental click or key press."),
    _("The student explained it (technical problem)."),
    _("Allowed by the exam's rules."),
)
DISMISS_DEVICE = (
    _("A network or device problem, not the student."),
    _("The student explained it (technical problem)."),
)
DISMISS_ENDING = (
    _("Nothing suspicious: the ending was a precaution."),
    _("The student explained it; no cheating."),
)
# Browser reports about the student's own devices, which fail more often than students cheat.
_DEVICE_TYPES = frozenset({"camera-lost", "microphone-lost"})


def dismiss_reasons(type: str) -> tuple[str, ...]:
    """The reasons offered when dismissing an alert of this type."""
    row = CONDITIONS.get(type)
    if row is None:
        return DISMISS_IN_BROWSER[1:]
    if row.type in _DEVICE_TYPES or row.observes == Observes.HEARTBEAT:
        return DISMISS_DEVICE
    return {
        Observes.FRAME: DISMISS_ON_CAMERA,
        Observes.AUDIO: DISMISS_IN_SOUND,
        Observes.SESSION: DISMISS_ENDING,
    }.get(row.observes, DISMISS_IN_BROWSER)


def monitor_conditions() -> dict[str, dict]:
    """What the monitor and review pages' scripts need of each condition (json_script)."""
    return {
        c.type: {
            "label": _translated(c.label),
            "severity": str(c.severity),
            "warning": _translated(c.warning),
            "dismissReasons": [_translated(reason) for reason in dismiss_reasons(c.type)],
        }
        for c in CONDITIONS.values()
    }
