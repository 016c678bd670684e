"""Media accepted by the stream socket: stream statistics, backpressure, and handing each frame
or audio chunk to the analysis workers (queues `frames` and `audio`), in its web process's next
batch (frame_batches)."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.utils import timezone

from procto.cache_batch import CacheBatch
from proctoring import frame_batches, stream_state, tasks
from proctoring.detectors import audio as audio_detector
from proctoring.stream import AUDIO, FRAME, MediaMessage
from proctoring.stream_state import STATS_SECONDS

# Backpressure: more frames than this waiting for one student, and that student's page is asked
# to send frames half as often. Workers behind for everyone are the overload governor's to
# answer, least risky sessions first (proctoring.cadence), not every page that sends meanwhile.
MAX_PENDING_FRAMES = 3


def media_received(*, session_id, kind: str, seq: int, captured_ms: int, payload: bytes) -> bool:
    """Record an accepted frame or audio chunk and queue its analysis (`parts_received`)."""
    part = MediaMessage(
        kind=FRAME if kind == "frame" else AUDIO, seq=seq, captured_ms=captured_ms, payload=payload
    )
    return parts_received(session_id=session_id, parts=[part])


def parts_received(*, session_id, parts: list[MediaMessage]) -> bool:
    """Record accepted frames and audio chunks (one message's, or one bundle's) and queue their
    analysis.

    Returns True when the client should slow down (this session's own frames pile up). Frames
    are what gets dropped under load (pipeline.frame_analyse), never audio,
    events or answers. A silent audio chunk is not queued while the session's microphone has
    been quiet with nothing open (the worker says so: `audio_idle_key`), except one per sample
    interval, which keeps the level chart and the worker's view of the session current.
    """
    known = _bookkeeping(session_id, parts).apply()
    return _queue(known, session_id, parts)


async def parts_received_async(*, session_id, parts: list[MediaMessage]) -> bool:
    """`parts_received` on the socket's event loop: its cache work is one Redis round trip from
    the loop, whatever the number of parts, and each frame or chunk joins this process's next
    batch for the workers, so a message costs no hop to a thread (issue 15). In embedded mode
    the analysis itself runs in this process (eager Celery): that goes to a thread, never on
    the loop."""
    if tasks.frames_analyse.app.conf.task_always_eager:
        return await sync_to_async(parts_received, thread_sensitive=False)(session_id=session_id, parts=parts)
    known = await _bookkeeping(session_id, parts).apply_async()
    return _queue(known, session_id, parts)


def _bookkeeping(session_id, parts: list[MediaMessage]) -> CacheBatch:
    """The stream's statistics for these parts, and what deciding their fate needs to read."""
    stats = CacheBatch()
    now = timezone.now().timestamp()
    for kind in (FRAME, AUDIO):
        of_kind = [part for part in parts if part.kind == kind]
        if not of_kind:
            continue
        name = of_kind[0].kind_name
        stats.set(stream_state.last_seq_key(session_id, name), max(p.seq for p in of_kind), STATS_SECONDS)
        stats.set(stream_state.last_at_key(session_id, name), now, STATS_SECONDS)
        stats.incr(stream_state.count_key(session_id, name), len(of_kind), STATS_SECONDS)
        if kind == AUDIO:
            stats.get(stream_state.audio_idle_key(session_id))
            stats.get(stream_state.sample_gate_key(session_id, "audio"))
        else:
            latest = max(of_kind, key=lambda p: p.seq)
            stats.set(stream_state.thumbnail_key(session_id), latest.payload, STATS_SECONDS)
            stats.set(stream_state.latest_frame_key(session_id), latest.seq, STATS_SECONDS)
            stats.incr(stream_state.pending_frames_key(session_id), len(of_kind), STATS_SECONDS)
    return stats


def _queue(known: dict, session_id, parts: list[MediaMessage]) -> bool:
    """Queue the analysis `_bookkeeping`'s results allow; True when the client should slow down."""
    slow_down = False
    idle = known.get(stream_state.audio_idle_key(session_id))
    gate = known.get(stream_state.sample_gate_key(session_id, "audio"))
    for part in parts:
        if part.kind == AUDIO:
            if idle and _silent(part.payload):
                if gate:
                    continue
                gate = True  # the one silent chunk of this sample interval; the rest wait for the next
            frame_batches.audio_queue(
                session_id=session_id, seq=part.seq, captured_ms=part.captured_ms, pcm=part.payload
            )
        else:
            frame_batches.frame_queue(
                session_id=session_id, seq=part.seq, captured_ms=part.captured_ms, jpeg=part.payload
            )
            slow_down = known[stream_state.pending_frames_key(session_id)] > MAX_PENDING_FRAMES
    return slow_down


def _silent(pcm: bytes) -> bool:
    try:
        return audio_detector.is_silent(audio_detector.pcm_to_float(pcm))
    except audio_detector.AudioError:
        return False  # the worker reports it
