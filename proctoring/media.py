"""Media accepted by the stream socket: stream statistics, backpressure, and handing each frame
or audio chunk to the analysis workers (queues `frames` and `audio`)."""

from __future__ import annotations

import base64

from django.core.cache import cache
from django.utils import timezone

from procto.metrics import metric_value
from proctoring import tasks
from proctoring.pipeline import latest_frame_key, pending_frames_key
from proctoring.stats import STATS_SECONDS, stream_stats_key

# Backpressure: more frames than this waiting for one student, or frames waiting this long on
# average across the queue, and clients are asked to send frames half as often.
MAX_PENDING_FRAMES = 3
MAX_QUEUE_LAG_SECONDS = 5.0


def media_received(*, session_id, kind: str, seq: int, captured_ms: int, payload: bytes) -> bool:
    """Record an accepted frame or audio chunk and queue its analysis.

    Returns True when the client should slow down (this session's or the queue's lag is past
    its bound). Frames are what gets dropped under load (pipeline.frame_analyse), never audio,
    events or answers.
    """
    cache.set(stream_stats_key(session_id, f"{kind}:last_seq"), seq, STATS_SECONDS)
    cache.set(stream_stats_key(session_id, f"{kind}:last_at"), timezone.now().timestamp(), STATS_SECONDS)
    cache.add(stream_stats_key(session_id, f"{kind}:count"), 0, STATS_SECONDS)
    cache.incr(stream_stats_key(session_id, f"{kind}:count"))
    encoded = base64.b64encode(payload).decode()
    if kind == "audio":
        tasks.analyse_audio.delay(str(session_id), seq, captured_ms, encoded)
        return False
    cache.set(stream_stats_key(session_id, "thumbnail"), payload, STATS_SECONDS)
    cache.set(latest_frame_key(session_id), seq, STATS_SECONDS)
    cache.add(pending_frames_key(session_id), 0, STATS_SECONDS)
    pending = cache.incr(pending_frames_key(session_id))
    tasks.analyse_frame.delay(str(session_id), seq, captured_ms, encoded)
    return pending > MAX_PENDING_FRAMES or (metric_value("frame_lag_seconds") or 0) > MAX_QUEUE_LAG_SECONDS


def rejected_count(session_id) -> int:
    """Count a rejected message of a session (bad header, not a JPEG, rate limited...)."""
    key = stream_stats_key(session_id, "rejected")
    cache.add(key, 0, STATS_SECONDS)
    return cache.incr(key)
