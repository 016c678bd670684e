"""Media accepted by the stream socket: stream statistics, backpressure, and handing each frame
or audio chunk to the analysis workers (queues `frames` and `audio`): an audio chunk as a task
of its own, a frame in its web process's next batch (frame_batches)."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.utils import timezone

from procto.cache_batch import CacheBatch
from proctoring import frame_batches, stream_state, tasks
from proctoring.detectors import audio as audio_detector
from proctoring.stream_state import STATS_SECONDS

# Backpressure: more frames than this waiting for one student, and that student's page is asked
# to send frames half as often. Workers behind for everyone are the overload governor's to
# answer, least risky sessions first (proctoring.cadence), not every page that sends meanwhile.
MAX_PENDING_FRAMES = 3


def media_received(*, session_id, kind: str, seq: int, captured_ms: int, payload: bytes) -> bool:
    """Record an accepted frame or audio chunk and queue its analysis.

    Returns True when the client should slow down (this session's own frames pile up). Frames
    are what gets dropped under load (pipeline.frame_analyse), never audio,
    events or answers. A silent audio chunk is not queued while the session's microphone has
    been quiet with nothing open (the worker says so: `audio_idle_key`), except one per sample
    interval, which keeps the level chart and the worker's view of the session current.
    """
    known = _bookkeeping(session_id, kind, seq, payload).apply()
    return _queue(known, session_id=session_id, kind=kind, seq=seq, captured_ms=captured_ms, payload=payload)


async def media_received_async(*, session_id, kind: str, seq: int, captured_ms: int, payload: bytes) -> bool:
    """`media_received` on the socket's event loop: its cache work is one Redis round trip from
    the loop, and the frame or chunk joins this process's next batch for the workers, so a
    message costs no hop to a thread (issue 15). In embedded mode the analysis itself runs in
    this process (eager Celery): that goes to a thread, never on the loop."""
    if tasks.frames_analyse.app.conf.task_always_eager:
        return await sync_to_async(media_received, thread_sensitive=False)(
            session_id=session_id, kind=kind, seq=seq, captured_ms=captured_ms, payload=payload
        )
    known = await _bookkeeping(session_id, kind, seq, payload).apply_async()
    return _queue(known, session_id=session_id, kind=kind, seq=seq, captured_ms=captured_ms, payload=payload)


def _bookkeeping(session_id, kind: str, seq: int, payload: bytes) -> CacheBatch:
    """The stream's statistics for this message, and what deciding its fate needs to read."""
    stats = CacheBatch()
    stats.set(stream_state.last_seq_key(session_id, kind), seq, STATS_SECONDS)
    stats.set(stream_state.last_at_key(session_id, kind), timezone.now().timestamp(), STATS_SECONDS)
    stats.incr(stream_state.count_key(session_id, kind), 1, STATS_SECONDS)
    if kind == "audio":
        gate = stream_state.sample_gate_key(session_id, "audio")
        return stats.get(stream_state.audio_idle_key(session_id)).get(gate)
    stats.set(stream_state.thumbnail_key(session_id), payload, STATS_SECONDS)
    stats.set(stream_state.latest_frame_key(session_id), seq, STATS_SECONDS)
    return stats.incr(stream_state.pending_frames_key(session_id), 1, STATS_SECONDS)


def _queue(known: dict, *, session_id, kind: str, seq: int, captured_ms: int, payload: bytes) -> bool:
    """Queue the analysis `_bookkeeping`'s results allow; True when the client should slow down."""
    if kind == "audio":
        idle = known[stream_state.audio_idle_key(session_id)]
        gate = known[stream_state.sample_gate_key(session_id, "audio")]
        if idle and gate and _silent(payload):
            return False
        frame_batches.audio_queue(session_id=session_id, seq=seq, captured_ms=captured_ms, pcm=payload)
        return False
    frame_batches.frame_queue(session_id=session_id, seq=seq, captured_ms=captured_ms, jpeg=payload)
    return known[stream_state.pending_frames_key(session_id)] > MAX_PENDING_FRAMES


def _silent(pcm: bytes) -> bool:
    try:
        return audio_detector.is_silent(audio_detector.pcm_to_float(pcm))
    except audio_detector.AudioError:
        return False  # the worker reports it
