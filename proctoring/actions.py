"""What a proctor can do to a session, each step audited (ProctorAction) and pushed live."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from accounts.permissions import Can, user_can
from procto.errors import ApplicationError, ForbiddenError, NotFoundError
from proctoring import realtime
from proctoring.models import ProctorAction, ProctoringEvent
from proctoring.services import event_record, session_lock, session_risk_update
from sessions.models import ExamSession
from sessions.realtime import student_notify
from sessions.selectors import sessions_watchable_by
from sessions.services import exam_session_terminate

MAX_EXTENSION_MINUTES = 120


def _watched(actor: User, session_id) -> ExamSession:
    if not user_can(actor, Can.MONITOR_SESSIONS):
        raise ForbiddenError(gettext("Only proctors, teachers and admins act on sessions."))
    session = sessions_watchable_by(actor).filter(pk=session_id).first()
    if session is None:
        raise NotFoundError(gettext("No such exam session."))
    return session


def _audit(session: ExamSession, actor: User, kind: str, **details) -> ProctorAction:
    return ProctorAction.objects.create(session=session, actor=actor, kind=kind, details=details)


@transaction.atomic
def session_warn(*, actor: User, session_id, message: str) -> ProctorAction:
    """Show `message` on the student's exam page at once."""
    session = _watched(actor, session_id)
    if not session.is_in_progress:
        raise ApplicationError(gettext("The session has ended."), code="SESSION_CLOSED", status=409)
    student_notify(session.pk, {"type": "warning", "message": message[:500], "from": "proctor"})
    return _audit(session, actor, ProctorAction.Kind.WARN, message=message[:500])


@transaction.atomic
def session_terminate(*, actor: User, session_id, reason: str) -> ProctorAction:
    """End the session early; the student's page ends with the reason. The ending, its audit
    record and its event (proctoring.endings: what a reviewer confirms or dismisses; until then
    the outcome is "Ended by proctor", not a finding) commit together."""
    session = _watched(actor, session_id)
    ended = exam_session_terminate(session_id=session.pk, actor=actor, reason=reason[:300])
    locked = session_lock(ended.pk)  # locked already by the ending, in this transaction
    # Ended already (automatically, or by another proctor): that ending is the one on record.
    if not ProctoringEvent.objects.filter(
        session=locked, type=ProctoringEvent.Type.CHEATING_DETECTED
    ).exists():
        event_record(
            session=locked,
            type=ProctoringEvent.Type.CHEATING_DETECTED,
            source=ProctoringEvent.Source.PROCTOR,
            details={"reason": ended.end_reason},
            occurred_at=ended.ended_at,
            ended_at=ended.ended_at,
        )
    return _audit(session, actor, ProctorAction.Kind.TERMINATE, reason=reason[:300])


@transaction.atomic
def session_note_add(*, actor: User, session_id, text: str) -> ProctorAction:
    session = _watched(actor, session_id)
    return _audit(session, actor, ProctorAction.Kind.NOTE, text=text[:2000])


@transaction.atomic
def session_extend_time(*, actor: User, session_id, minutes: int) -> ProctorAction:
    """Give the student more time (e.g. after a technical problem); their clock follows."""
    if not 1 <= minutes <= MAX_EXTENSION_MINUTES:
        raise ApplicationError(
            gettext("Extend by 1 to %(max)d minutes.") % {"max": MAX_EXTENSION_MINUTES},
            code="INVALID_EXTENSION",
        )
    session = _watched(actor, session_id)
    session = ExamSession.objects.select_for_update(no_key=True).get(pk=session.pk)
    if not session.is_in_progress:
        raise ApplicationError(gettext("The session has ended."), code="SESSION_CLOSED", status=409)
    session.deadline += timedelta(minutes=minutes)
    session.save(update_fields=["deadline", "updated_at"])
    remaining = int((session.deadline - timezone.now()).total_seconds())
    student_notify(
        session.pk,
        {"type": "time-extended", "deadline": session.deadline.isoformat(), "timeRemaining": remaining},
    )
    return _audit(session, actor, ProctorAction.Kind.EXTEND_TIME, minutes=minutes)


@transaction.atomic
def event_review(*, actor: User, event_id: int, status: str, reason: str = "") -> ProctoringEvent:
    """Confirm or dismiss an alert; the session's risk score follows (dismissed alerts count 0)."""
    if status not in ("confirmed", "dismissed"):
        raise ApplicationError(gettext("Review an alert as confirmed or dismissed."), code="INVALID_REVIEW")
    event = ProctoringEvent.objects.select_related("session").filter(pk=event_id).first()
    if event is None:
        raise NotFoundError(gettext("No such alert."))
    if event.review_status == "none":
        raise ApplicationError(
            gettext("This event is a record (info), not an alert to review."), code="INVALID_REVIEW"
        )
    # The session's row before the event's, the order the workers take them in (detections): two
    # transactions taking them the other way round could deadlock.
    session = session_lock(_watched(actor, event.session_id).pk)
    event.review_status, event.review_reason = status, reason[:300]
    event.reviewed_by, event.reviewed_at = actor, timezone.now()
    event.save(update_fields=["review_status", "review_reason", "reviewed_by", "reviewed_at"])
    _audit(
        session, actor, ProctorAction.Kind.REVIEW_ALERT, event=event.pk, status=status, reason=reason[:300]
    )
    realtime.broadcast_alert(event, exam_id=session.exam_id, update=True)
    session_risk_update(session=session)
    return event


def session_export_audit(*, actor: User, session: ExamSession, fmt: str) -> ProctorAction:
    """Put on the session's audit trail that `actor` took a copy of its record (PDF, CSV, JSON):
    it holds the student's answers, events and webcam snapshots. Call once access is checked."""
    return _audit(session, actor, ProctorAction.Kind.EXPORT, format=fmt)
