"""Server-detected conditions become events: hysteresis and snapshots.

Called by the analysis tasks with what the detectors saw in one frame or audio chunk. All state
changes for a session happen under its row lock, so two workers handling frames of the same
student cannot open the same event twice. Events are recorded by proctoring.services (stored once,
on the risk, pushed to the monitors), as the browser's are.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from proctoring import realtime
from proctoring.hysteresis import Action, ConditionState, step
from proctoring.models import ProctoringEvent
from proctoring.policy import policy_for
from proctoring.services import event_record, session_lock, session_risk_update
from proctoring.tuning import exam_tuning

logger = logging.getLogger(__name__)

STATE_SECONDS = 6 * 3600


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
    changed, lasted = [], False
    keys = [state_key(session_id, c) for c in conditions]
    states = known_states if known_states is not None else cache.get_many(keys)
    if not any(conditions.values()) and not any(state_active(states.get(k)) for k in keys):
        return []  # nothing seen, nothing open: no lock, no writes (the common frame)
    with transaction.atomic():
        session = session_lock(session_id)
        if session is None or not session.is_in_progress:
            return []
        policy, tuning, now = policy_for(session), exam_tuning(session.exam), observed_at.timestamp()
        # Read again under the lock (another worker may have stepped them since), in one round
        # trip, and written back in one: a frame's five conditions cost two, not ten.
        stored = cache.get_many(keys)
        after = {}
        for condition, present in conditions.items():
            key = state_key(session.pk, condition)
            before = ConditionState.from_dict(stored.get(key))
            if before.last_seen is not None and now < before.last_seen:
                continue
            # The exam's sensitivity scales the onset of its security level.
            onset = tuning.onset(condition)
            state, action = step(before, present=present, now=now, onset=onset, release=policy["release"])
            if action is Action.OPEN:
                event = _open(session, condition, state, source, seq, details, snapshot, confidence)
                state = ConditionState(state.first_seen, state.last_seen, True, event.pk)
                changed.append(event)
            elif action is Action.CLOSE:
                event = _close(before)
                if event is not None:
                    changed.append(event)
                    lasted = True
            elif action is Action.EXTEND and state.event_id:
                ProctoringEvent.objects.filter(pk=state.event_id).update(ended_at=observed_at)
                lasted = True
            after[key] = state.to_dict()
        if after:
            cache.set_many(after, STATE_SECONDS)
        # Durations count towards risk, so a lasting condition raises it as it goes on (an
        # event just opened is on it already).
        if lasted:
            session_risk_update(session=session)
    return changed


def _open(session, condition, state, source, seq, details, snapshot, confidence) -> ProctoringEvent:
    at = timezone.get_current_timezone()
    event, created = event_record(
        session=session,
        type=condition,
        source=ProctoringEvent.Source.SERVER,
        analysis_key=f"{condition}:{source}:{seq}",
        details=details | {"source": source},
        confidence=confidence,
        occurred_at=datetime.fromtimestamp(state.first_seen, tz=at),
        ended_at=datetime.fromtimestamp(state.last_seen, tz=at),
        snapshot=snapshot,
    )
    if created:
        logger.info("session %s: %s opened (%s)", session.pk, condition, event.severity)
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
