"""What a worker does with one frame or audio chunk: analyse it, then apply the result.

Each piece of media is handled once: a redelivered task (a worker died mid-way) finds the
"done" mark and stops; if it died before the mark, the event keys make the second run open
nothing twice. A frame that cannot be decoded fails alone: it is counted and logged, and the
worker goes on.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

import numpy as np
from django.core.cache import cache
from django.utils import timezone

from accounts.identity_service import embedding_decrypt
from procto.metrics import metric_observe
from proctoring import realtime
from proctoring.detections import observations_apply, policy_for
from proctoring.detectors import audio as audio_detector
from proctoring.detectors import faces
from proctoring.detectors import identity as identity_detector
from sessions.models import ExamSession

logger = logging.getLogger(__name__)

DONE_SECONDS = 3600
# A frame that waited longer than this while newer frames of the same student were queued is
# dropped: its news is stale and the newer frame says more. Audio and events are never dropped.
FRAME_STALE_SECONDS = 10.0
MEDIA_PUSH_SECONDS = 10
AUDIO_CONDITIONS = ("speech-detected", "multiple-voices", "background-noise", "mic-activity")


def _done_key(session_id, kind: str, seq: int) -> str:
    return f"analysed:{session_id}:{kind}:{seq}"


def latest_frame_key(session_id) -> str:
    return f"stream:{session_id}:frame:latest_enqueued"


def pending_frames_key(session_id) -> str:
    return f"stream:{session_id}:frame:pending"


def _captured_at(captured_ms: int) -> datetime:
    # The browser's clock is only trusted within a minute of ours; otherwise we use arrival time.
    now = timezone.now()
    captured = datetime.fromtimestamp(captured_ms / 1000, tz=timezone.get_current_timezone())
    return captured if abs((now - captured).total_seconds()) < 60 else now


def frame_analyse(*, session_id, seq: int, captured_ms: int, jpeg: bytes) -> str:
    """Analyse one webcam frame of a session; returns what happened ("done", "dropped", ...)."""
    try:
        return _frame_analyse(session_id=session_id, seq=seq, captured_ms=captured_ms, jpeg=jpeg)
    finally:
        # Never below zero: a redelivered task may decrement twice.
        if (cache.get(pending_frames_key(session_id)) or 0) > 0:
            cache.decr(pending_frames_key(session_id))


def _frame_analyse(*, session_id, seq: int, captured_ms: int, jpeg: bytes) -> str:
    if cache.get(_done_key(session_id, "frame", seq)):
        return "duplicate"
    lag = max(0.0, time.time() - captured_ms / 1000)
    metric_observe("frame_lag_seconds", lag)
    latest = cache.get(latest_frame_key(session_id)) or seq
    if lag > FRAME_STALE_SECONDS and latest > seq:
        metric_observe("frames_dropped", 1)
        return "dropped"
    try:
        rgb = faces.decode_jpeg(jpeg)
        analysis = faces.analyse_frame(rgb)
    except faces.FrameError as exc:
        logger.warning("session %s frame %s unreadable: %s", session_id, seq, exc.message)
        metric_observe("frames_unreadable", 1)
        cache.set(_done_key(session_id, "frame", seq), 1, DONE_SECONDS)
        return "unreadable"
    conditions = {
        "camera-blocked": analysis.camera_blocked,
        "face-not-visible": analysis.face_count == 0 and not analysis.camera_blocked,
        "multiple-faces": analysis.face_count >= 2,
        "off-screen": analysis.face_count == 1 and analysis.looking_away,
    }
    mismatch = _identity_recheck(session_id, rgb) if analysis.face_count == 1 else None
    if mismatch is not None:
        conditions["identity-mismatch"] = mismatch
    details = {
        "faceCount": analysis.face_count,
        "headPose": analysis.head_pose.__dict__ if analysis.head_pose else None,
        "brightness": round(analysis.brightness, 1),
        "frameSeq": seq,
    }
    observations_apply(
        session_id=session_id,
        source="frame",
        seq=seq,
        observed_at=_captured_at(captured_ms),
        conditions=conditions,
        details=details,
        snapshot=jpeg,
        confidence=max((f.score for f in analysis.faces), default=None),
    )
    cache.set(_done_key(session_id, "frame", seq), 1, DONE_SECONDS)
    metric_observe("frames_analysed", 1)
    cache.set(f"stream:{session_id}:metrics", {"faceCount": analysis.face_count, "at": time.time()}, 6 * 3600)
    # Monitors pull the thumbnail when they render; they are told only when the face count
    # changed or every MEDIA_PUSH_SECONDS, not for every frame of every student.
    changed = cache.get(f"stream:{session_id}:pushed-faces") != analysis.face_count
    if changed or cache.add(f"stream:{session_id}:media-pushed", 1, MEDIA_PUSH_SECONDS):
        cache.set(f"stream:{session_id}:pushed-faces", analysis.face_count, 6 * 3600)
        exam_id = ExamSession.objects.filter(pk=session_id).values_list("exam_id", flat=True).first()
        if exam_id is not None:
            realtime.broadcast_media(
                session_id, exam_id=exam_id, face_count=analysis.face_count, frame_seq=seq
            )
    return "done"


def _identity_recheck(session_id, rgb) -> bool | None:
    """Every N seconds, does the face on camera still match the verified photo? None: not now."""
    # The interval gate comes first: most frames are not a recheck and need no query at all.
    if cache.get(f"identity-recheck:{session_id}"):
        return None
    session = ExamSession.objects.select_related("student", "exam").filter(pk=session_id).first()
    if session is None:
        return None
    interval = policy_for(session)["identity_recheck_seconds"]
    if not cache.add(f"identity-recheck:{session_id}", 1, interval) or not session.student.face_embedding:
        return None
    try:
        live = identity_detector.face_embedding(rgb)
    except identity_detector.FaceImageError:
        return None  # too small or unclear for dlib this time; the next recheck tries again
    reference = embedding_decrypt(session.student.face_embedding)
    return not identity_detector.compare_embeddings(reference, live).match


def _level_dbfs(samples) -> float:
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    return 20 * np.log10(rms) if rms > 0 else -200.0


def tracker_key(session_id) -> str:
    return f"stream:{session_id}:voices"


def audio_analyse(*, session_id, seq: int, captured_ms: int, pcm: bytes) -> str:
    """Analyse one second of microphone audio of a session."""
    if cache.get(_done_key(session_id, "audio", seq)):
        return "duplicate"
    metric_observe("audio_lag_seconds", max(0.0, time.time() - captured_ms / 1000))
    try:
        samples = audio_detector.pcm_to_float(pcm)
    except audio_detector.AudioError as exc:
        logger.warning("session %s audio %s unreadable: %s", session_id, seq, exc.message)
        cache.set(_done_key(session_id, "audio", seq), 1, DONE_SECONDS)
        return "unreadable"
    if _level_dbfs(samples) < audio_detector.SILENCE_DBFS:
        # A quiet exam room is the usual chunk: nothing to find, so no pitch tracking (6 ms).
        analysis, voices = None, 0
    else:
        analysis = audio_detector.analyse_chunk(samples)
        tracker = cache.get(tracker_key(session_id)) or audio_detector.VoiceTracker()
        voices = tracker.update(analysis, samples)
        cache.set(tracker_key(session_id), tracker, 6 * 3600)
    if analysis is None:
        observations_apply(
            session_id=session_id,
            source="audio",
            seq=seq,
            observed_at=_captured_at(captured_ms),
            conditions=dict.fromkeys(
                ("speech-detected", "multiple-voices", "background-noise", "mic-activity"), False
            ),
            details={"audioSeq": seq, "silent": True},
        )
        cache.set(_done_key(session_id, "audio", seq), 1, DONE_SECONDS)
        return "done"
    conditions = {
        "speech-detected": analysis.speech,
        "multiple-voices": voices >= 2,
        "background-noise": analysis.background_noise and not analysis.speech,
        "mic-activity": analysis.tonal and not analysis.speech,
    }
    details = {
        "levelDbfs": round(analysis.level_dbfs, 1),
        "speechRatio": round(analysis.speech_ratio, 2),
        "pitchHz": analysis.pitch_hz,
        "voices": voices,
        "audioSeq": seq,
    }
    observations_apply(
        session_id=session_id,
        source="audio",
        seq=seq,
        observed_at=_captured_at(captured_ms),
        conditions=conditions,
        details=details,
    )
    cache.set(_done_key(session_id, "audio", seq), 1, DONE_SECONDS)
    cache.set(
        f"stream:{session_id}:audio-metrics", {"levelDbfs": analysis.level_dbfs, "at": time.time()}, 6 * 3600
    )
    return "done"
