"""Media accepted by the stream socket: stream statistics, backpressure, and handing each frame
or audio chunk to the analysis workers (queues `frames` and `audio`): an audio chunk as a task
of its own, a frame in its web process's next batch (frame_batches)."""

from __future__ import annotations

import base64

from django.utils import timezone

from procto.cache_batch import CacheBatch
from procto.metrics import metric_key
from proctoring import frame_batches, stream_state, tasks
from proctoring.detectors import audio as audio_detector
from proctoring.stream_state import STATS_SECONDS

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
    stats.set(stream_state.last_seq_key(session_id, kind), seq, STATS_SECONDS)
    stats.set(stream_state.last_at_key(session_id, kind), timezone.now().timestamp(), STATS_SECONDS)
    stats.incr(stream_state.count_key(session_id, kind), 1, STATS_SECONDS)
    if kind == "audio":
        idle = stream_state.audio_idle_key(session_id)
        gate = stream_state.sample_gate_key(session_id, "audio")
        known = stats.get(idle).get(gate).apply()
        if known[idle] and known[gate] and _silent(payload):
            return False
        tasks.audio_analyse.delay(str(session_id), seq, captured_ms, base64.b64encode(payload).decode())
        return False
    pending = stream_state.pending_frames_key(session_id)
    stats.set(stream_state.thumbnail_key(session_id), payload, STATS_SECONDS)
    stats.set(stream_state.latest_frame_key(session_id), seq, STATS_SECONDS)
    stats.incr(pending, 1, STATS_SECONDS).get(metric_key("frame_lag_seconds"))
    known = stats.apply()
    frame_batches.frame_queue(session_id=session_id, seq=seq, captured_ms=captured_ms, jpeg=payload)
    lag = known[metric_key("frame_lag_seconds")] or 0
    return known[pending] > MAX_PENDING_FRAMES or lag > MAX_QUEUE_LAG_SECONDS


def _silent(pcm: bytes) -> bool:
    try:
        return audio_detector.is_silent(audio_detector.pcm_to_float(pcm))
    except audio_detector.AudioError:
        return False  # the worker reports it
