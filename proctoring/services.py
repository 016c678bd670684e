from __future__ import annotations

import json
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from procto.errors import NotFoundError
from proctoring.errors import InvalidEvent
from proctoring.models import ProctoringEvent
from proctoring.realtime import broadcast_alert
from sessions.errors import SessionClosed
from sessions.models import ExamSession
from sessions.services import GRACE

Type = ProctoringEvent.Type
# What a student's browser may report about itself; analysis results come from the server only.
CLIENT_EVENT_TYPES = frozenset(
    {
        Type.TAB_SWITCH,
        Type.WINDOW_BLUR,
        Type.FULLSCREEN_EXIT,
        Type.COPY,
        Type.CUT,
        Type.PASTE,
        Type.RIGHT_CLICK,
        Type.PRINT_SCREEN,
        Type.DEVTOOLS_OPEN,
        Type.SECOND_SCREEN,
        Type.PAGE_LEAVE,
        Type.CAMERA_LOST,
        Type.MICROPHONE_LOST,
        Type.SCREENSHOT_CAPTURED,
        Type.OFF_SCREEN,
        Type.FACE_NOT_VISIBLE,
        Type.MULTIPLE_FACES,
        Type.MIC_ACTIVITY,
    }
)
MAX_DETAILS_BYTES = 4096
CLOCK_SKEW = timedelta(seconds=30)


def _occurred_at(session: ExamSession, reported: datetime | None, now: datetime) -> datetime:
    # The client's clock is only believed within the session and a little skew.
    if reported is None or not (session.started_at - CLOCK_SKEW <= reported <= now + CLOCK_SKEW):
        return now
    return reported


@transaction.atomic
def event_record_client(
    *,
    session_id,
    student: User,
    type: str,
    severity: str = "low",
    details: dict | None = None,
    occurred_at: datetime | None = None,
    client_seq: int | None = None,
) -> ProctoringEvent:
    """Store an event the student's browser reported, and push it to the exam's monitors.

    Only for the student's own session, while it is in progress (or within the grace after its
    deadline). An event re-sent with the same `client_seq` is stored once (the first is
    returned). Raises InvalidEvent, SessionClosed or NotFoundError.
    """
    if type not in CLIENT_EVENT_TYPES:
        raise InvalidEvent(details={"type": type, "allowed": sorted(CLIENT_EVENT_TYPES)})
    if severity not in ProctoringEvent.Severity.values:
        raise InvalidEvent("Severity must be low, medium, high or critical.")
    details = details if isinstance(details, dict) else {"value": details}
    if len(json.dumps(details)) > MAX_DETAILS_BYTES:
        raise InvalidEvent(f"Event details must be at most {MAX_DETAILS_BYTES} bytes of JSON.")
    session = ExamSession.objects.filter(pk=session_id, student=student).first()
    if session is None:
        raise NotFoundError("No such exam session.")
    now = timezone.now()
    if session.status != ExamSession.Status.IN_PROGRESS or now > session.deadline + GRACE:
        raise SessionClosed()
    if client_seq is not None:
        existing = ProctoringEvent.objects.filter(session=session, client_seq=client_seq).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            event = ProctoringEvent.objects.create(
                session=session,
                client_seq=client_seq,
                type=type,
                severity=severity,
                source=ProctoringEvent.Source.CLIENT,
                details=details,
                occurred_at=_occurred_at(session, occurred_at, now),
            )
    except IntegrityError:  # the same event re-sent concurrently: the other copy won
        return ProctoringEvent.objects.get(session=session, client_seq=client_seq)
    broadcast_alert(event, exam_id=session.exam_id)
    return event
