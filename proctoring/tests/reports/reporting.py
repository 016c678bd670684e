"""A finished, proctored, reviewed session: what the report, export and PDF tests read back.

Reviews and notes go through the real proctor actions, so the audit trail is the one a proctor's
clicks leave behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from procto.encrypted_files import store_encrypted
from proctoring import actions
from proctoring.models import ProctoringEvent
from sessions.models import ExamSession
from sessions.tests.factories import ExamSessionFactory

CONFIRM_REASON = "Second person visible behind the student"
DISMISS_REASON = "Student bent down to pick up a pen"
NOTE_TEXT = "Checked the room scan: nothing on the desk"


@dataclass
class ProctoredSession:
    session: ExamSession
    events: dict[str, ProctoringEvent]  # by type


def proctored_session(
    *, exam, student, reviewer, snapshot: bytes | None = None, **fields
) -> ProctoredSession:
    """Four events (one lasting a minute with a snapshot), one confirmed, one dismissed, a note."""
    start = timezone.now() - timedelta(minutes=40)
    defaults = {
        "started_at": start,
        "deadline": start + timedelta(minutes=60),
        "ended_at": start + timedelta(minutes=35),
        "status": ExamSession.Status.SUBMITTED,
        "final_score": Decimal("7.50"),
        "max_score": Decimal("10"),
        "grading": ExamSession.Grading.COMPLETE,
    }
    session = ExamSessionFactory(exam=exam, student=student, **(defaults | fields))

    def event(type_: str, severity: str, source: str, at: float, lasting: float = 0, **extra):
        occurred = start + timedelta(minutes=at)
        return ProctoringEvent.objects.create(
            session=session,
            type=type_,
            severity=severity,
            source=source,
            occurred_at=occurred,
            ended_at=occurred + timedelta(seconds=lasting) if lasting else None,
            **extra,
        )

    events = {
        "tab-switch": event("tab-switch", "medium", "client", 3, details={"hidden": True}),
        "face-not-visible": event("face-not-visible", "medium", "server", 10, 30, confidence=0.81),
        "multiple-faces": event(
            "multiple-faces",
            "high",
            "server",
            20,
            60,
            confidence=0.93,
            details={"faceCount": 2},
            snapshot=store_encrypted(snapshot, folder=f"snapshots/{session.pk}") if snapshot else "",
        ),
        "paste": event("paste", "low", "client", 25),
    }
    actions.event_review(
        actor=reviewer, event_id=events["multiple-faces"].pk, status="confirmed", reason=CONFIRM_REASON
    )
    actions.event_review(
        actor=reviewer, event_id=events["face-not-visible"].pk, status="dismissed", reason=DISMISS_REASON
    )
    actions.session_note_add(actor=reviewer, session_id=session.pk, text=NOTE_TEXT)
    session.refresh_from_db()
    for item in events.values():
        item.refresh_from_db()
    return ProctoredSession(session, events)
