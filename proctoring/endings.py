"""The record of a session's early ending, and what it means for the session's outcome.

Every early ending (status `cheating-detected`) is put on record as an event of that type: by the
risk policy (source server, `details.trigger` the condition that took the risk over the line) or
by a proctor (source proctor, `details.reason` as they typed it). The event is an alert like any
other: a reviewer confirming it is the finding that makes the outcome "Cheating confirmed";
dismissing it leaves "Ended by proctor" or "Ended automatically" (sessions.outcomes).
"""

from __future__ import annotations

from proctoring.conditions import label_of
from proctoring.models import ProctoringEvent
from sessions.models import ExamSession
from sessions.outcomes import Ending

ENDING = ProctoringEvent.Type.CHEATING_DETECTED


def automatic_ending_reason(risk: float, threshold: int, trigger: str | None) -> str:
    """What an automatic ending says (the session's end_reason, shown to the student)."""
    after = f" after {label_of(trigger).lower()}" if trigger else ""
    return f"Ended automatically: the risk score reached {risk:.0f} (the limit is {threshold}){after}."


def session_endings(sessions: list[ExamSession]) -> dict:
    """{session id: Ending} for these sessions that ended early; one query."""
    ended = {s.pk: s for s in sessions if s.status == ExamSession.Status.CHEATING_DETECTED}
    records = ProctoringEvent.objects.filter(session_id__in=list(ended), type=ENDING).order_by("pk")
    endings = {}
    for event in records.only("session_id", "source", "details", "review_status", "review_reason"):
        details = event.details if isinstance(event.details, dict) else {}
        by = "proctor" if event.source == ProctoringEvent.Source.PROCTOR else "automatic"
        reason = str(details.get("reason") or ended[event.session_id].end_reason)
        if by == "automatic":
            reason = reason.removeprefix("Ended automatically: ")
        endings[event.session_id] = Ending(
            by=by,
            reason=reason,
            confirmed=event.review_status == "confirmed",
            review_reason=event.review_reason,
        )
    # Before issue 14 a proctor's ending left no event (the automatic one always did).
    for session_id, session in ended.items():
        endings.setdefault(session_id, Ending(by="proctor", reason=session.end_reason))
    return endings
