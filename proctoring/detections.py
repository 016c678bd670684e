"""Server-detected conditions become events: hysteresis, snapshots, risk and the policy.

Called by the analysis tasks with what the detectors saw in one frame or audio chunk. All state
changes for a session happen under its row lock, so two workers handling frames of the same
student cannot open the same event twice.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from procto.encrypted_files import store_encrypted
from proctoring import notifications, realtime
from proctoring.hysteresis import Action, ConditionState, step
from proctoring.models import ProctoringEvent
from proctoring.risk import EventWeighting, risk_score
from sessions.errors import IllegalTransition
from sessions.models import ExamSession
from sessions.realtime import student_notify
from sessions.services import exam_session_transition

logger = logging.getLogger(__name__)

SEVERITY = {
    "face-not-visible": "medium",
    "multiple-faces": "high",
    "off-screen": "medium",
    "camera-blocked": "high",
    "identity-mismatch": "critical",
    "speech-detected": "medium",
    "multiple-voices": "high",
    "background-noise": "low",
    "mic-activity": "low",
    "stream-lost": "high",
}
STATE_SECONDS = 6 * 3600
WARNING_EVERY_SECONDS = 300


def policy_for(session: ExamSession) -> dict:
    return settings.PROCTORING_POLICY[session.exam.security_level]


def state_key(session_id, condition: str) -> str:
    return f"hysteresis:{session_id}:{condition}"


def state_active(stored: dict | None) -> bool:
    """A condition being seen (its onset running) or an event open; False for a forgotten one."""
    state = ConditionState.from_dict(stored)
    return state.open or state.first_seen is not None


def observations_apply(
    *,
    session_id,
    source: str,
    seq: int,
    observed_at: datetime,
    conditions: dict[str, bool],
    details: dict,
    snapshot: bytes | None = None,
    confidence: float | None = None,
    known_states: dict | None = None,
) -> list[ProctoringEvent]:
    """Feed one observation (a frame or an audio chunk) to each condition's hysteresis.

    Returns the events opened or closed. Observations older than the last one applied for a
    condition are ignored (a redelivered or late task cannot reopen what has closed).
    `known_states`: the conditions' cache entries if the caller has read them already.
    """
    changed, extended = [], False
    keys = [state_key(session_id, c) for c in conditions]
    states = known_states if known_states is not None else cache.get_many(keys)
    if not any(conditions.values()) and not any(state_active(states.get(k)) for k in keys):
        return []  # nothing seen, nothing open: no lock, no writes (the common frame)
    with transaction.atomic():
        session = (
            ExamSession.objects.select_for_update(no_key=True)
            .select_related("exam")
            .filter(pk=session_id)
            .first()
        )
        if session is None or not session.is_in_progress:
            return []
        policy, now = policy_for(session), observed_at.timestamp()
        for condition, present in conditions.items():
            key = state_key(session.pk, condition)
            before = ConditionState.from_dict(cache.get(key))
            if before.last_seen is not None and now < before.last_seen:
                continue
            onset = policy["onset"].get(condition, 0)
            state, action = step(before, present=present, now=now, onset=onset, release=policy["release"])
            if action is Action.OPEN:
                event = _open(session, condition, state, source, seq, details, snapshot, confidence)
                state = ConditionState(state.first_seen, state.last_seen, True, event.pk)
                changed.append(event)
            elif action is Action.CLOSE:
                event = _close(before)
                if event is not None:
                    changed.append(event)
            elif action is Action.EXTEND and state.event_id:
                ProctoringEvent.objects.filter(pk=state.event_id).update(ended_at=observed_at)
                extended = True
            cache.set(key, state.to_dict(), STATE_SECONDS)
        # Durations count towards risk, so a lasting condition raises it as it goes on.
        if changed or extended:
            session_risk_update(session=session)
    return changed


def _open(session, condition, state, source, seq, details, snapshot, confidence) -> ProctoringEvent:
    started = datetime.fromtimestamp(state.first_seen, tz=timezone.get_current_timezone())
    fields = {
        "type": condition,
        "severity": SEVERITY.get(condition, "medium"),
        "source": ProctoringEvent.Source.SERVER,
        "details": details | {"source": source},
        "confidence": confidence,
        "occurred_at": started,
        "ended_at": datetime.fromtimestamp(state.last_seen, tz=timezone.get_current_timezone()),
        "snapshot": store_encrypted(snapshot, folder=f"snapshots/{session.pk}") if snapshot else "",
    }
    try:
        with transaction.atomic():
            event = ProctoringEvent.objects.create(
                session=session, analysis_key=f"{condition}:{source}:{seq}", **fields
            )
    except IntegrityError:  # a redelivered task: this observation already opened it
        return ProctoringEvent.objects.get(session=session, analysis_key=f"{condition}:{source}:{seq}")
    logger.info("session %s: %s opened (%s)", session.pk, condition, event.severity)
    realtime.broadcast_alert(event, exam_id=session.exam_id)
    notifications.critical_alert_enqueue(event)
    return event


def _close(state: ConditionState) -> ProctoringEvent | None:
    if not state.event_id:
        return None
    event = ProctoringEvent.objects.select_related("session").filter(pk=state.event_id).first()
    if event is None:
        return None
    event.ended_at = datetime.fromtimestamp(state.last_seen, tz=timezone.get_current_timezone())
    event.save(update_fields=["ended_at"])
    realtime.broadcast_alert(event, exam_id=event.session.exam_id, update=True)
    return event


def session_risk_update(*, session: ExamSession) -> ExamSession:
    """Recompute the risk score, flag the session, warn the student, and end the session where
    the exam allows it. Call with the session row locked."""
    # The record of an automatic ending is the result of the risk, not a cause of more.
    events = ProctoringEvent.objects.filter(session=session).exclude(
        type=ProctoringEvent.Type.CHEATING_DETECTED, source=ProctoringEvent.Source.SERVER
    )
    risk = risk_score(EventWeighting(e.severity, e.duration_seconds, e.review_status) for e in events)
    policy = policy_for(session)
    if (session.risk_score, session.flagged) != (risk, risk >= policy["flag_risk"]):
        session.risk_score, session.flagged = risk, risk >= policy["flag_risk"]
        session.save(update_fields=["risk_score", "flagged", "updated_at"])
        realtime.broadcast_session(session)
    if risk >= policy["warn_risk"] and cache.add(f"warned:{session.pk}", 1, WARNING_EVERY_SECONDS):
        student_notify(
            session.pk,
            {
                "type": "warning",
                "from": "system",
                "message": "Please stay alone in front of your camera and keep the exam in view. "
                "Your proctor has been notified.",
            },
        )
    if session.exam.auto_terminate and risk >= policy["terminate_risk"]:
        # robust: a failure is logged and the next frame over the line tries again.
        transaction.on_commit(
            lambda: _terminate_automatically(session, risk, policy["terminate_risk"]), robust=True
        )
    return session


def _terminate_automatically(session: ExamSession, risk: float, threshold: int) -> None:
    """End the session as cheating-detected and put that on record as an event of its own: with
    no proctor behind it there is no audited action, and the report must still say why it ended."""
    reason = f"Ended automatically: risk score {risk:.0f} reached {threshold}."
    try:
        ended, changed = exam_session_transition(
            session_id=session.pk, to=ExamSession.Status.CHEATING_DETECTED, reason=reason
        )
    except IllegalTransition:  # submitted or ended by a proctor in the meantime
        return
    if not changed:
        return
    try:
        with transaction.atomic():
            event = ProctoringEvent.objects.create(
                session=ended,
                analysis_key="cheating-detected:auto",
                type=ProctoringEvent.Type.CHEATING_DETECTED,
                severity=ProctoringEvent.Severity.CRITICAL,
                source=ProctoringEvent.Source.SERVER,
                details={"reason": reason, "riskScore": round(risk, 1), "threshold": threshold},
                occurred_at=ended.ended_at,
                ended_at=ended.ended_at,
            )
    except IntegrityError:  # two workers crossed the line at once: one record is enough
        return
    logger.warning("session %s: ended automatically (risk %.0f >= %s)", session.pk, risk, threshold)
    realtime.broadcast_alert(event, exam_id=ended.exam_id)
    notifications.critical_alert_enqueue(event)
