"""Graceful overload: when the workers fall behind, the least risky sessions send frames less
often, and get their cadence back, most risky first, once the workers catch up (issue 15).

Every few seconds (beat's `cadence-adjust`) this reads how far behind the frame analysis runs
(the workers' `frame_lag_seconds` gauge: capture to analysis, averaged). Past OVERLOAD_LAG_SECONDS
it slows a share of the sessions still at their level's cadence: their frames come every
SLOWED_FACTOR cadences; once all it may slow are slowed and the workers are still behind, every
MAX_SLOWED_FACTOR. Once the lag has stayed below RECOVERED_LAG_SECONDS for a few steps it gives
a smaller share of the slowed back, a step at a time.

Who is slowed first: the sessions a proctor has least reason to watch closely. Low security before
medium before high, then the lowest risk score; a flagged session or one with an alert to review
is never slowed. A slowed session is never unmonitored: its frames still come (two cadences apart,
at high security four), its audio and browser events are untouched, the page is told its new
cadence (and told again on every reconnect), and the monitor's card says it runs slowed.

The per-socket `slow-down` (proctoring.media) is another thing: one student's own frames piling
up (a slow upload, a worker busy with them), answered on that socket alone.
"""

from __future__ import annotations

import math

from django.core.cache import cache
from django.db.models import Exists, OuterRef

from procto.metrics import metric_key
from proctoring import stream_state
from proctoring.models import ProctoringEvent
from proctoring.realtime import broadcast_cadence
from sessions.models import ExamSession
from sessions.readiness import FRAME_INTERVAL_MS
from sessions.realtime import student_notify

OVERLOAD_LAG_SECONDS = 3.0
RECOVERED_LAG_SECONDS = 1.0
SLOWED_FACTOR = 2
# When every session the governor may slow already sends a picture every SLOWED_FACTOR cadences
# and the workers are still behind, it slows them again, up to this many cadences apart. One step
# was not enough in a class of 300 on two cores (docs/BENCHMARKS.md): the lag stayed at its 10 s
# ceiling. Only where the pictures stay at most MAX_SLOWED_INTERVAL_MS apart (high security: every
# 8 s): further apart, the monitor's card would read stale between two pictures (its live window
# is 12-20 s) and the face conditions would open on two pictures.
MAX_SLOWED_FACTOR = 4
MAX_SLOWED_INTERVAL_MS = 8_000
# Each step changes at most this share of the class (at least one session): the lag answers a
# step within a few seconds, and slowing everyone at once would swing from overload to idle.
STEP_SHARE = 0.25
# Giving back is slower than slowing: only after the workers have stayed under
# RECOVERED_LAG_SECONDS for this many steps in a row, and an eighth of the class a step. Giving a
# quarter back at the first calm step swung a class of 300 on two cores from 0.4 s behind back to
# 10 s within half a minute, over and over (docs/BENCHMARKS.md).
RESTORE_AFTER_CALM_STEPS = 3
RESTORE_SHARE = 0.125
# A slowed cadence outlives a missed beat by this much, then lapses back to the normal one.
SLOWED_SECONDS = 120
LEVEL_ORDER = {"low": 0, "medium": 1, "high": 2}


def _slowed_ms(session: ExamSession, factor: int) -> int:
    return factor * FRAME_INTERVAL_MS[session.exam.security_level]


def cadence_adjust() -> dict[str, int]:
    """One step of the governor; returns how many sessions it slowed and restored."""
    lag = cache.get(metric_key("frame_lag_seconds")) or 0.0
    sessions = list(
        ExamSession.objects.filter(
            status=ExamSession.Status.IN_PROGRESS, media_exempt=False, exam__proctoring_enabled=True
        )
        .annotate(
            to_review=Exists(ProctoringEvent.objects.filter(session=OuterRef("pk"), review_status="open"))
        )
        .select_related("exam")
        .only("pk", "risk_score", "flagged", "exam__security_level", "exam__proctoring_enabled")
    )
    slowed_now = cache.get_many([stream_state.cadence_key(s.pk) for s in sessions])
    factor = {s.pk: _factor(s, slowed_now.get(stream_state.cadence_key(s.pk))) for s in sessions}
    slowed = [s for s in sessions if factor[s.pk] > 1]
    step = max(1, math.ceil(STEP_SHARE * len(sessions)))
    restore_step = max(1, math.ceil(RESTORE_SHARE * len(sessions)))
    calm_steps = _calm_steps(lag)
    changed = {"slowed": 0, "restored": 0}
    least_risky_first = {"key": lambda s: (LEVEL_ORDER.get(s.exam.security_level, 2), s.risk_score)}
    if lag > OVERLOAD_LAG_SECONDS:
        may_slow = [s for s in sessions if not s.flagged and not s.to_review]
        candidates = sorted((s for s in may_slow if factor[s.pk] == 1), **least_risky_first)
        # Everyone it may slow once is slowed: the rest of the step slows them again, up to the cap.
        candidates += sorted((s for s in may_slow if 1 < factor[s.pk] < _max_factor(s)), **least_risky_first)
        for session in candidates[:step]:
            factor[session.pk] = SLOWED_FACTOR if factor[session.pk] == 1 else MAX_SLOWED_FACTOR
            _cadence_set(session, _slowed_ms(session, factor[session.pk]))
            changed["slowed"] += 1
    # A slowed session that turned risky gets its cadence back whatever the load.
    risky = [s for s in slowed if s.flagged or s.to_review]
    calm = [s for s in slowed if s not in risky]
    kept = calm
    if calm_steps >= RESTORE_AFTER_CALM_STEPS:
        # The riskiest first, one step each: every 4 cadences -> 2 -> its own.
        calm.sort(key=lambda s: (-LEVEL_ORDER.get(s.exam.security_level, 2), -s.risk_score))
        kept = calm[restore_step:]
        for session in calm[:restore_step]:
            if factor[session.pk] > SLOWED_FACTOR:
                _cadence_set(session, _slowed_ms(session, SLOWED_FACTOR))
                changed["restored"] += 1
            else:
                risky.append(session)
    for session in kept:  # still slowed: keep it from lapsing (a lapse tells nobody)
        cache.touch(stream_state.cadence_key(session.pk), SLOWED_SECONDS)
    for session in risky:
        _cadence_set(session, None)
        changed["restored"] += 1
    return changed


def _calm_steps(lag: float) -> int:
    """How many governor steps in a row (this one included) found the workers caught up."""
    key = metric_key("cadence_calm_steps")
    if lag >= RECOVERED_LAG_SECONDS:
        cache.set(key, 0, SLOWED_SECONDS)
        return 0
    cache.add(key, 0, SLOWED_SECONDS)
    return cache.incr(key)


def _factor(session: ExamSession, slowed_ms: int | None) -> int:
    """How many of its level's cadences apart the session sends pictures now (1: not slowed).
    Any slowed interval counts as slowed, even one set before its exam's level changed."""
    if not slowed_ms:
        return 1
    return max(SLOWED_FACTOR, round(slowed_ms / FRAME_INTERVAL_MS[session.exam.security_level]))


def _max_factor(session: ExamSession) -> int:
    fits = _slowed_ms(session, MAX_SLOWED_FACTOR) <= MAX_SLOWED_INTERVAL_MS
    return MAX_SLOWED_FACTOR if fits else SLOWED_FACTOR


def session_frame_interval_ms(session: ExamSession, slowed_ms: int | None) -> int:
    """The cadence a session's page should keep: its level's, or the slowed one."""
    return slowed_ms or FRAME_INTERVAL_MS[session.exam.security_level]


def _cadence_set(session: ExamSession, slowed_ms: int | None) -> None:
    key = stream_state.cadence_key(session.pk)
    before = cache.get(key)
    if before and (not slowed_ms or slowed_ms < before):
        # Pictures come sooner: the small-face search waits no longer than its own cadence says
        # (pipeline._magnify_seconds), nor holds a face it saw that long ago.
        cache.delete_many([stream_state.magnified_key(session.pk), stream_state.small_face_key(session.pk)])
    if slowed_ms:
        cache.set(key, slowed_ms, SLOWED_SECONDS)
    else:
        cache.delete(key)
    interval = session_frame_interval_ms(session, slowed_ms)
    student_notify(session.pk, {"type": "cadence", "frameIntervalMs": interval, "slowed": bool(slowed_ms)})
    broadcast_cadence(session.pk, exam_id=session.exam_id, frame_interval_ms=interval, slowed=bool(slowed_ms))
