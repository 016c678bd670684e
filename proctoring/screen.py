"""Screen capture (docs/PROTOCOL.md, "Screen capture"): what a screenshot upload must be, when the
student's page is asked for one, and the time a paused exam gives back.

An exam that captures the screen (`Exam.captures_screen`) has the student share their entire
screen on the exam page. The page uploads a downscaled screenshot every
`screenshot_interval_seconds`, when the share starts, and when the server asks for one
(`screenshot_request`, at each high-severity alert); `proctoring.services.screenshot_record`
keeps each one encrypted as the picture of a `screenshot-captured` record (the reference
document's event and its `snapshotUrl`). Refusing or stopping the share is an alert the page
reports (`screen-share-refused`, `screen-share-stopped`); at high security the exam's
`screen_share_lapse` says whether the exam stays hidden until the share is back (`block`) and
whether that time is given back (`pause`, `pause_time_give_back`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Max
from PIL import Image, UnidentifiedImageError

from procto.errors import ApplicationError
from proctoring.conditions import Severity
from proctoring.models import ProctoringEvent
from sessions.models import ExamSession
from sessions.realtime import student_notify

SCREENSHOT = "screenshot-captured"
SHARE_STARTED = "screen-share-started"
SHARE_REFUSED = "screen-share-refused"
SHARE_STOPPED = "screen-share-stopped"
LAPSES = (SHARE_REFUSED, SHARE_STOPPED)

# What the page sends: at most 1280 px on its longer side (static/js/exam/screen.js), WebP, or
# JPEG where the browser cannot encode WebP (Safari). The limits leave room for other clients.
MAX_SCREENSHOT_BYTES = 512 * 1024
MAX_SCREENSHOT_SIDE = 1920
FORMATS = {"WEBP": "webp", "JPEG": "jpeg"}
# The request's other fields and the multipart framing, on top of the picture.
MAX_UPLOAD_BYTES = MAX_SCREENSHOT_BYTES + 16 * 1024
TRIGGERS = ("start", "interval", "alert")
# Per session and minute: the shortest interval (10 s) gives 6, the share starting and alerts a
# few more; a page sending more is broken or hostile.
MAX_PER_MINUTE = 20
# The most one lapse gives back under `pause`: a student who walks away does not gain an hour.
MAX_PAUSE = timedelta(minutes=15)
# Alerts of these severities ask the page for a screenshot.
CAPTURE_ON = frozenset({Severity.HIGH, Severity.CRITICAL})


class InvalidScreenshot(ApplicationError):
    code = "INVALID_SCREENSHOT"
    status = 400
    message = "The screenshot is not a picture Procto keeps."


class ScreenCaptureOff(ApplicationError):
    code = "SCREEN_CAPTURE_OFF"
    status = 409
    message = "This exam does not capture the screen."


@dataclass(frozen=True)
class Screenshot:
    data: bytes
    format: str  # "webp" or "jpeg"
    width: int
    height: int


def screenshot_check(data: bytes) -> Screenshot:
    """The upload as a screenshot, read from its header (not decoded: cheap for the web process);
    raises InvalidScreenshot saying what is wrong."""
    if len(data) > MAX_SCREENSHOT_BYTES:
        raise InvalidScreenshot(
            f"The screenshot is {len(data)} bytes; the limit is {MAX_SCREENSHOT_BYTES}.",
            code="TOO_LARGE",
            status=413,
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, (width, height) = image.format, image.size
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InvalidScreenshot("The screenshot is not a WebP or JPEG picture.") from exc
    if kind not in FORMATS:
        raise InvalidScreenshot(f"Screenshots are WebP or JPEG, not {kind}.")
    if not (0 < width <= MAX_SCREENSHOT_SIDE and 0 < height <= MAX_SCREENSHOT_SIDE):
        raise InvalidScreenshot(
            f"The screenshot is {width}x{height}; each side is at most {MAX_SCREENSHOT_SIDE} pixels."
        )
    if not _complete(data, FORMATS[kind]):
        raise InvalidScreenshot("The screenshot is cut short.")
    return Screenshot(data=data, format=FORMATS[kind], width=width, height=height)


def _complete(data: bytes, kind: str) -> bool:
    if kind == "jpeg":
        return b"\xff\xd9" in data[-64:]
    # RIFF's size field counts every byte after the first eight.
    return int.from_bytes(data[4:8], "little") + 8 <= len(data)


def image_type(data: bytes) -> str:
    """The content type of a stored picture: webcam snapshots are JPEG, screenshots WebP or JPEG."""
    return "image/webp" if data[:4] == b"RIFF" and data[8:12] == b"WEBP" else "image/jpeg"


def screenshot_request(session: ExamSession, alert: ProctoringEvent) -> None:
    """After commit, ask the session's exam page for a screenshot now, for this alert, when the
    exam captures the screen and the alert is high or critical. Precondition: `session` is the
    alert's, with its exam loaded."""
    if alert.severity not in CAPTURE_ON or not session.exam.captures_screen or not session.is_in_progress:
        return
    student_notify(session.pk, {"type": "capture-screen", "alertId": alert.pk, "alertType": alert.type})


def pause_time_give_back(session: ExamSession, resumed: ProctoringEvent) -> timedelta:
    """Under `pause`, the share (re)starting (`resumed`, just recorded) gives back the time since
    the first refusal or stop after the previous start, by the server's clock, at most MAX_PAUSE;
    the student's clock follows. Returns what was given (zero otherwise). Precondition: the
    session's row is locked."""
    exam = session.exam
    if not (exam.screen_share_enforced and exam.screen_share_lapse == "pause") or not session.is_in_progress:
        return timedelta(0)
    earlier = ProctoringEvent.objects.filter(session=session, received_at__lte=resumed.received_at).exclude(
        pk=resumed.pk
    )
    previous_start = earlier.filter(type=SHARE_STARTED).aggregate(at=Max("received_at"))["at"]
    lapses = earlier.filter(type__in=LAPSES)
    if previous_start is not None:
        lapses = lapses.filter(received_at__gt=previous_start)
    first = lapses.order_by("received_at").values_list("received_at", flat=True).first()
    if first is None:
        return timedelta(0)
    given = min(resumed.received_at - first, MAX_PAUSE)
    session.deadline += given
    session.save(update_fields=["deadline", "updated_at"])
    remaining = int((session.deadline - resumed.received_at).total_seconds())
    student_notify(
        session.pk,
        {
            "type": "time-extended",
            "reason": "screen-share-paused",
            "deadline": session.deadline.isoformat(),
            "timeRemaining": remaining,
        },
    )
    return given
