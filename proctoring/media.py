"""Media accepted by the stream socket: stream statistics, backpressure, and handing each frame
or audio chunk to the analysis workers (queues `frames` and `audio`)."""

from __future__ import annotations

import base64

from django.core.cache import cache
from django.utils import timezone

from procto.cache_batch import CacheBatch
from procto.metrics import metric_key
from proctoring import media_series, tasks
from proctoring.detectors import audio as audio_detector
from proctoring.pipeline import audio_idle_key, latest_frame_key, pending_frames_key
from proctoring.stats import STATS_SECONDS, stream_stats_key

# Backpressure: more frames than this waiting for one student, or frames waiting this long on
# average across the queue, and clients are asked to send frames half as often.
MAX_PENDING_FRAMES = 3
MAX_QUEUE_LAG_SECONDS = 5.0


def media_received(*, session_id, kind: str, seq: int, captured_ms: int, payload: bytes) -> bool:
    """Record an accepted frame or audio chunk and queue its analysis.

    Returns True when the client should slow down (this session's or the queue's lag is past
    its bound). Frames are what gets dropped under load (pipeline.frame_analyse), never audio,
    events or answers. A silent audio chunk is not queued while the session's microphone has
    been quiet with nothing open (the worker says so: `audio_idle_key`), except one per sample
    interval, which keeps the level chart and the worker's view of the session current.
    """
    stats = CacheBatch()
    stats.set(stream_stats_key(session_id, f"{kind}:last_seq"), seq, STATS_SECONDS)
    stats.set(stream_stats_key(session_id, f"{kind}:last_at"), timezone.now().timestamp(), STATS_SECONDS)
    stats.incr(stream_stats_key(session_id, f"{kind}:count"), 1, STATS_SECONDS)
    if kind == "audio":
        idle, gate = audio_idle_key(session_id), media_series.audio_gate_key(session_id)
        known = stats.get(idle).get(gate).apply()
        if known[idle] and known[gate] and _silent(payload):
            stats.incr(stream_stats_key(session_id, "audio:skipped"), 1, STATS_SECONDS).apply()
            return False
        tasks.analyse_audio.delay(str(session_id), seq, captured_ms, base64.b64encode(payload).decode())
        return False
    pending = pending_frames_key(session_id)
    stats.set(stream_stats_key(session_id, "thumbnail"), payload, STATS_SECONDS)
    stats.set(latest_frame_key(session_id), seq, STATS_SECONDS)
    stats.incr(pending, 1, STATS_SECONDS).get(metric_key("frame_lag_seconds"))
    known = stats.apply()
    tasks.analyse_frame.delay(str(session_id), seq, captured_ms, base64.b64encode(payload).decode())
    lag = known[metric_key("frame_lag_seconds")] or 0
    return known[pending] > MAX_PENDING_FRAMES or lag > MAX_QUEUE_LAG_SECONDS


def _silent(pcm: bytes) -> bool:
    try:
        return audio_detector.is_silent(audio_detector.pcm_to_float(pcm))
    except audio_detector.AudioError:
        return False  # the worker reports it


def rejected_count(session_id) -> int:
    """Count a rejected message of a session (bad header, not a JPEG, rate limited...)."""
    key = stream_stats_key(session_id, "rejected")
    cache.add(key, 0, STATS_SECONDS)
    return cache.incr(key)
