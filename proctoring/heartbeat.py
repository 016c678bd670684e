"""Monitoring never stops silently: a session whose camera and microphone went quiet for three
cadences raises `stream-lost` and shows as unmonitored until media arrives again."""

from __future__ import annotations

from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from proctoring.detections import observations_apply
from proctoring.policy import policy_for
from proctoring.stream_state import STATS_SECONDS, stream_stats, unmonitored_key
from sessions.models import ExamSession
from sessions.readiness import FRAME_INTERVAL_MS


def last_media_at(session: ExamSession) -> float:
    stats = stream_stats(session.pk)
    times = [t for t in (stats["frame:last_at"], stats["audio:last_at"]) if t]
    return max(times) if times else session.started_at.timestamp()


def stream_heartbeats_check(*, now: datetime | None = None) -> int:
    """Check every proctored session in progress; returns how many are unmonitored."""
    now = now or timezone.now()
    sessions = ExamSession.objects.filter(
        status=ExamSession.Status.IN_PROGRESS, media_exempt=False, exam__proctoring_enabled=True
    ).select_related("exam")
    unmonitored = 0
    for session in sessions:
        cadence = FRAME_INTERVAL_MS[session.exam.security_level] / 1000
        quiet_for = now.timestamp() - last_media_at(session)
        lost = quiet_for > policy_for(session)["stream_lost_cadences"] * cadence
        cache.set(unmonitored_key(session.pk), lost, STATS_SECONDS)
        unmonitored += lost
        observations_apply(
            session_id=session.pk,
            source="heartbeat",
            seq=int(now.timestamp()),
            observed_at=now,
            conditions={"stream-lost": lost},
            details={"quietSeconds": round(quiet_for, 1)},
        )
    return unmonitored
