"""Monitoring never stops silently: a session whose camera and microphone went quiet for three
cadences raises `stream-lost` and shows as unmonitored until media arrives again."""

from __future__ import annotations

from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from proctoring.cadence import session_frame_interval_ms
from proctoring.detections import observations_apply
from proctoring.policy import policy_for
from proctoring.stream_state import STATS_SECONDS, stream_stats, unmonitored_key
from sessions.models import ExamSession


def last_media_at(session: ExamSession, stats: dict) -> float:
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
        stats = stream_stats(session.pk)
        # A session the overload governor slowed sends its pictures that much further apart.
        cadence = session_frame_interval_ms(session, stats["cadence"]) / 1000
        quiet_for = now.timestamp() - last_media_at(session, stats)
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
