"""Every proctoring event of a session is recorded here, whoever noticed it: the student's browser
(`event_record_client`), the workers' detections (proctoring.detections, through `event_record`)
or the risk policy ending a session on its own. Each event is stored once (per `client_seq` or
`analysis_key`), updates the session's risk under the session's row lock, and reaches the
monitors (and, if critical and detected by the server, the exam's staff) after commit.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from accounts.models import User
from procto.encrypted_files import store_encrypted
from procto.errors import ApplicationError, NotFoundError
from proctoring import notifications, screen
from proctoring.conditions import (
    Severity,
    client_types,
    condition_get,
    record_only_types,
    risk_excluded_types,
    severity_of,
    warning_of,
)
from proctoring.endings import automatic_ending_reason
from proctoring.errors import InvalidEvent
from proctoring.models import ProctoringEvent
from proctoring.policy import policy_for
from proctoring.realtime import broadcast_alert
from proctoring.risk import EventWeighting, risk_score
from proctoring.tuning import exam_tuning
from sessions.errors import IllegalTransition, SessionClosed
from sessions.models import ExamSession
from sessions.realtime import broadcast_session, student_notify
from sessions.services import GRACE, exam_session_transition

logger = logging.getLogger(__name__)

MAX_DETAILS_BYTES = 4096
CLOCK_SKEW = timedelta(seconds=30)

# The exam page went away (`page-leave`) and, when that was a reload, the page that came back
# (`page-reload`). A departure waits this long as a record for its page to come back reloaded
# before it becomes an alert: a reload takes a second or two, and the new page's report may need
# the HTTP fallback (5 s) to arrive.
DEPARTURE, RELOAD = "page-leave", "page-reload"
DEPARTURE_GRACE = timedelta(seconds=30)


def _occurred_at(session: ExamSession, reported: datetime | None, now: datetime) -> datetime:
    # The client's clock is only believed within the session and a little skew.
    if reported is None or not (session.started_at - CLOCK_SKEW <= reported <= now + CLOCK_SKEW):
        return now
    return reported


WARNING_EVERY_SECONDS = 300
# The system's warning when the risk crosses the line, unless the event that took it there has a
# warning of its own (proctoring.conditions): tab switches are not told to face the camera.
GENERAL_WARNING = gettext_noop("Please stay alone in front of your camera and keep the exam in view.")


def session_lock(session_id, **filters) -> ExamSession | None:
    """The session's row, locked until the end of the caller's transaction (not its exam's row:
    the students of one exam do not wait for each other)."""
    return (
        ExamSession.objects.select_for_update(no_key=True, of=("self",))
        .select_related("exam")
        .filter(pk=session_id, **filters)
        .first()
    )


def event_record(
    *,
    session: ExamSession,
    type: str,
    source: str,
    occurred_at: datetime,
    severity: str | None = None,
    details: dict | None = None,
    ended_at: datetime | None = None,
    confidence: float | None = None,
    snapshot: bytes | None = None,
    snapshot_folder: str = "snapshots",
    client_seq: int | None = None,
    analysis_key: str = "",
) -> tuple[ProctoringEvent, bool]:
    """Store one event of `session` and update the session's risk: (event, created).

    Precondition: the caller holds the session's row locked (`session_lock`) in its transaction,
    so events of one session are recorded one at a time. An event whose `client_seq` or
    `analysis_key` is already stored is not stored again: that one is returned, nothing else
    happens. Side effects of a new event, after commit: the monitors of the exam receive it, and a
    critical server event is e-mailed to the exam's staff (proctoring.notifications).
    `severity` defaults to the condition's (proctoring.conditions); `snapshot` is a JPEG to keep
    encrypted with the event (under `snapshot_folder/<session>/`). An info event is a record, not
    an alert: review status "none", not sent to the monitors, not on the risk. A high or critical
    alert of an exam that captures the screen asks the student's page for a screenshot
    (proctoring.screen).
    """
    once = {"client_seq": client_seq} if client_seq is not None else {}
    once |= {"analysis_key": analysis_key} if analysis_key else {}
    existing = ProctoringEvent.objects.filter(session=session, **once).first() if once else None
    if existing is not None:
        return existing, False
    severity = severity or severity_of(type)
    alert = severity != Severity.INFO
    fields = {
        "type": type,
        "severity": severity,
        "review_status": "open" if alert else "none",
        "source": source,
        "details": details or {},
        "confidence": confidence,
        "occurred_at": occurred_at,
        "ended_at": ended_at,
        "snapshot": store_encrypted(snapshot, folder=f"{snapshot_folder}/{session.pk}") if snapshot else "",
    }
    try:
        with transaction.atomic():
            event = ProctoringEvent.objects.create(session=session, **once, **fields)
    except IntegrityError:
        # A duplicate only if the same key is now stored (by a writer that did not take the row
        # lock); any other refusal (a NOT NULL, SQLite's JSON check) is this write's own error.
        existing = ProctoringEvent.objects.filter(session=session, **once).first() if once else None
        if existing is None:
            raise
        return existing, False
    if alert:
        broadcast_alert(event, exam_id=session.exam_id)
        notifications.critical_alert_enqueue(event)
        screen.screenshot_request(session, event)
        session_risk_update(session=session, cause=type)
    return event, True


@transaction.atomic
def event_record_client(
    *,
    session_id,
    student: User,
    type: str,
    severity: str | None = None,
    details: dict | None = None,
    occurred_at: datetime | None = None,
    client_seq: int | None = None,
) -> ProctoringEvent:
    """Record an event the student's browser reported (`event_record`: stored once per
    `client_seq`, on the risk, pushed to the exam's monitors).

    Only for the student's own session, while it is in progress (or within the grace after its
    deadline). `severity` defaults to the condition's. Raises InvalidEvent, SessionClosed or
    NotFoundError.
    """
    allowed = client_types()
    if type not in allowed:
        raise InvalidEvent(details={"type": type, "allowed": sorted(allowed)})
    if type in record_only_types() or type == DEPARTURE:
        severity = None  # a record's severity, and a departure's once settled, are the condition's
    elif severity is not None and (
        severity == Severity.INFO or severity not in ProctoringEvent.Severity.values
    ):
        raise InvalidEvent("Severity must be low, medium, high or critical.")
    details = details if isinstance(details, dict) else {"value": details}
    if len(json.dumps(details)) > MAX_DETAILS_BYTES:
        raise InvalidEvent(f"Event details must be at most {MAX_DETAILS_BYTES} bytes of JSON.")
    session = session_lock(session_id, student=student)
    if session is None:
        raise NotFoundError(gettext("No such exam session."))
    now = timezone.now()
    if session.status != ExamSession.Status.IN_PROGRESS or now > session.deadline + GRACE:
        raise SessionClosed()
    occurred_at = _occurred_at(session, occurred_at, now)
    if type == DEPARTURE:
        return _departure_record(session, details, occurred_at, client_seq)
    if type == RELOAD:
        return _reload_record(session, details, occurred_at, client_seq)
    event, created = event_record(
        session=session,
        type=type,
        severity=severity,
        source=ProctoringEvent.Source.CLIENT,
        details=details,
        occurred_at=occurred_at,
        client_seq=client_seq,
    )
    if created and type == screen.SHARE_STARTED:
        given = screen.pause_time_give_back(session, event)
        if given:
            event.details = event.details | {"timeGivenBackSeconds": round(given.total_seconds())}
            event.save(update_fields=["details"])
    return event


@transaction.atomic
def screenshot_record(
    *,
    session_id,
    student: User,
    image: bytes,
    trigger: str,
    captured_at: datetime | None = None,
    alert_id: int | None = None,
) -> ProctoringEvent:
    """Keep a screenshot of the student's shared screen as a `screenshot-captured` record, its
    picture encrypted under `screenshots/<session>/` (proctoring.screen).

    Only for the student's own session of an exam that captures the screen, while it is in
    progress (or within the grace after its deadline); at most MAX_PER_MINUTE a minute. `trigger`:
    "start", "interval" or "alert" (`alert_id`: the alert whose capture-screen request it
    answers, one of this session's). Raises InvalidScreenshot, ScreenCaptureOff, SessionClosed,
    NotFoundError or ApplicationError (429 RATE_LIMITED).
    """
    if trigger not in screen.TRIGGERS:
        raise screen.InvalidScreenshot(f"trigger must be one of {', '.join(screen.TRIGGERS)}.")
    picture = screen.screenshot_check(image)
    session = session_lock(session_id, student=student)
    if session is None:
        raise NotFoundError(gettext("No such exam session."))
    if not session.exam.captures_screen:
        raise screen.ScreenCaptureOff()
    now = timezone.now()
    if session.status != ExamSession.Status.IN_PROGRESS or now > session.deadline + GRACE:
        raise SessionClosed()
    window = f"screenshots:{session.pk}:{int(now.timestamp() // 60)}"
    cache.add(window, 0, 120)
    if cache.incr(window) > screen.MAX_PER_MINUTE:
        raise ApplicationError(
            gettext("At most %(count)d screenshots a minute.") % {"count": screen.MAX_PER_MINUTE},
            code="RATE_LIMITED",
            status=429,
        )
    details: dict = {
        "trigger": trigger,
        "width": picture.width,
        "height": picture.height,
        "bytes": len(picture.data),
        "format": picture.format,
    }
    if trigger == "alert" and alert_id is not None:
        alerts = ProctoringEvent.objects.filter(session=session, pk=alert_id)
        alert = alerts.values_list("type", flat=True).first()
        if alert is None:
            raise screen.InvalidScreenshot("alertId is not an alert of this session.")
        details |= {"alertId": alert_id, "alertType": alert}
    event, _ = event_record(
        session=session,
        type=screen.SCREENSHOT,
        source=ProctoringEvent.Source.CLIENT,
        details=details,
        occurred_at=_occurred_at(session, captured_at, now),
        snapshot=picture.data,
        snapshot_folder="screenshots",
    )
    return event


# --- departures and reloads -------------------------------------------------------------------------
# A page that goes away cannot tell a reload from a departure; the page that loads next can
# (navigation type "reload"). So a departure is first stored as a record (info, review "none"):
# the reloaded page's `page-reload` turns it into a reload record; otherwise `departures_settle`
# makes it the medium `page-leave` alert once DEPARTURE_GRACE has passed.


def _pending_departures():
    return ProctoringEvent.objects.filter(type=DEPARTURE, review_status="none")


def _departure_record(
    session: ExamSession, details: dict, occurred_at: datetime, client_seq
) -> ProctoringEvent:
    if client_seq is not None:
        # The reloaded page's report came first (the departure travelled by a slower request):
        # the departure was a reload.
        reloaded = ProctoringEvent.objects.filter(session=session, type=RELOAD, details__leaveSeq=client_seq)
        if reloaded := reloaded.first():
            return reloaded
    event, _ = event_record(
        session=session,
        type=DEPARTURE,
        severity=Severity.INFO,
        source=ProctoringEvent.Source.CLIENT,
        details=details,
        occurred_at=occurred_at,
        client_seq=client_seq,
    )
    return event


def _reload_record(session: ExamSession, details: dict, occurred_at: datetime, client_seq) -> ProctoringEvent:
    """The page came back reloaded: its departure (`details.leaveSeq`, the departure's number),
    if still pending, becomes this reload's record, keeping the departure's details and time."""
    leave_seq = details.get("leaveSeq")
    departure = None
    if isinstance(leave_seq, int) and not isinstance(leave_seq, bool):
        departure = ProctoringEvent.objects.filter(session=session, client_seq=leave_seq).first()
    if departure is not None and departure.type == RELOAD:
        return departure  # this report again (re-sent after a reconnect): stored once
    if departure is not None and departure.type == DEPARTURE and departure.review_status == "none":
        departure.type = RELOAD
        departure.details = departure.details | details
        departure.ended_at = max(occurred_at, departure.occurred_at)
        departure.save(update_fields=["type", "details", "ended_at"])
        return departure
    event, _ = event_record(
        session=session,
        type=RELOAD,
        source=ProctoringEvent.Source.CLIENT,
        details=details,
        occurred_at=occurred_at,
        client_seq=client_seq,
    )
    return event


def departures_settle(*, now: datetime | None = None) -> int:
    """Make every departure still pending DEPARTURE_GRACE after it arrived an alert (the page did
    not come back reloaded): on the monitors, on the risk. Returns how many. The beat runs it every
    10 s; embedded mode, which has no beat, when the staff's pages are read (`..._lazily`)."""
    due = (now or timezone.now()) - DEPARTURE_GRACE
    pending = list(_pending_departures().filter(received_at__lte=due).values_list("pk", "session_id"))
    settled = 0
    for event_id, session_id in pending:
        with transaction.atomic():
            session = session_lock(session_id)
            event = _pending_departures().filter(pk=event_id).first() if session else None
            if event is None:  # turned into a reload meanwhile
                continue
            event.severity, event.review_status = severity_of(DEPARTURE), "open"
            event.save(update_fields=["severity", "review_status"])
            broadcast_alert(event, exam_id=session.exam_id)
            session_risk_update(session=session, cause=DEPARTURE)
            settled += 1
    return settled


def departures_settle_lazily() -> int:
    """Before a staff read, in embedded mode only (see exam_sessions_expire_overdue_lazily)."""
    if settings.SERVICES_MODE:
        return 0
    return departures_settle()


def session_risk_update(*, session: ExamSession, cause: str | None = None) -> ExamSession:
    """Recompute the risk score from the session's events and flag the session; while it is in
    progress, warn the student and end the session where the exam allows it (after commit).
    `cause`: the type of the event that changed it, whose warning the student is shown.

    Precondition: the session's row is locked. One query over the session's events.
    """
    rows = (
        ProctoringEvent.objects.filter(session=session)
        .exclude(type__in=risk_excluded_types())
        .values_list("type", "severity", "occurred_at", "ended_at", "review_status")
    )
    # The exam's weights, where it sets its own (proctoring.tuning).
    tuning = exam_tuning(session.exam)
    weighted = [
        (type, tuning.weighting(type, severity, (ended - occurred).total_seconds() if ended else 0.0, review))
        for type, severity, occurred, ended, review in rows
    ]
    risk = risk_score(weighting for _, weighting in weighted)
    policy = policy_for(session)
    if (session.risk_score, session.flagged) != (risk, risk >= policy["flag_risk"]):
        session.risk_score, session.flagged = risk, risk >= policy["flag_risk"]
        session.save(update_fields=["risk_score", "flagged", "updated_at"])
        broadcast_session(session)
    if not session.is_in_progress:  # reviewed after its end: the score follows, nothing else
        return session
    if risk >= policy["warn_risk"] and cache.add(f"warned:{session.pk}", 1, WARNING_EVERY_SECONDS):
        condition = condition_get(cause) if cause else None
        with translation.override(session.student.language_code):  # a worker: no request's language
            advice = (condition and warning_of(condition)) or gettext(GENERAL_WARNING)
            message = gettext("%(advice)s Your proctor has been notified.") % {"advice": advice}
        student_notify(session.pk, {"type": "warning", "from": "system", "message": message})
    if session.exam.auto_terminate and risk >= policy["terminate_risk"]:
        # What triggered it: the event that took the risk over the line, or, when a condition that
        # lasted did (no new event), the kind of event that weighs most.
        trigger = cause or _heaviest_type(weighted)
        # robust: a failure is logged and the next event over the line tries again.
        transaction.on_commit(
            lambda: _terminate_automatically(session, risk, policy["terminate_risk"], trigger), robust=True
        )
    return session


def _heaviest_type(weighted: list[tuple[str, EventWeighting]]) -> str | None:
    by_type: dict[str, list[EventWeighting]] = {}
    for type, weighting in weighted:
        by_type.setdefault(type, []).append(weighting)
    return max(by_type, key=lambda type: risk_score(by_type[type]), default=None)


def _terminate_automatically(session: ExamSession, risk: float, threshold: int, trigger: str | None) -> None:
    """End the session early (status cheating-detected) and put that on record as an event of its
    own, in one transaction: with no proctor behind it there is no audited action, and the report
    must still say why it ended. `trigger`: the condition whose event took the risk over the line.
    The record is an alert: a reviewer confirming it is what makes it a finding (proctoring.endings)."""
    reason = automatic_ending_reason(risk, threshold, trigger)
    try:
        with transaction.atomic():
            # Locks the session's row: the event is recorded under the same lock.
            ended, changed = exam_session_transition(
                session_id=session.pk, to=ExamSession.Status.CHEATING_DETECTED, reason=reason
            )
            if not changed:
                return
            event_record(
                session=ended,
                type=ProctoringEvent.Type.CHEATING_DETECTED,
                source=ProctoringEvent.Source.SERVER,
                analysis_key="cheating-detected:auto",
                details={
                    "reason": reason,
                    "riskScore": round(risk, 1),
                    "threshold": threshold,
                    "trigger": trigger,
                },
                occurred_at=ended.ended_at,
                ended_at=ended.ended_at,
            )
    except IllegalTransition:  # submitted or ended by a proctor in the meantime
        return
    logger.warning("session %s: ended automatically (risk %.0f >= %s)", session.pk, risk, threshold)


def exam_sessions_risk_update(*, exam_id: int) -> int:
    """Recompute the risk of every session of an exam, each under its own row lock and in its own
    transaction: after its weights changed, so that each stored score is the one the review page's
    formula gives. A session in progress reacts as to any new score (warning, automatic ending
    where the exam allows it). Returns how many sessions were rescored."""
    count = 0
    for session_id in ExamSession.objects.filter(exam_id=exam_id).values_list("pk", flat=True).iterator():
        with transaction.atomic():
            session = session_lock(session_id)
            if session is not None:
                session_risk_update(session=session)
                count += 1
    return count
