"""What a worker does with one frame or audio chunk: analyse it, then apply the result.

Each piece of media is handled once: a redelivered task (a worker died mid-way) finds the
"done" mark and stops; if it died before the mark, the event keys make the second run open
nothing twice. A frame that cannot be decoded fails alone: it is counted and logged, and the
worker goes on.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import datetime
from typing import NamedTuple

import structlog
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from accounts.identity_service import embedding_decrypt
from procto.cache_batch import CacheBatch
from procto.metrics import gauge_average, metric_key
from proctoring import media_series, realtime, stream_state
from proctoring.conditions import AudioObservation, Observes, conditions_derive, observed_from
from proctoring.detections import observations_apply, state_active, state_key
from proctoring.detectors import audio as audio_detector
from proctoring.detectors import faces
from proctoring.detectors import identity as identity_detector
from proctoring.detectors import still as still_detector
from proctoring.policy import policy_for
from proctoring.stream_state import (
    AUDIO_IDLE_SECONDS,
    DONE_SECONDS,
    IDENTITY_RECHECK_BACKOFF_MAX_SECONDS,
    IDENTITY_RECHECK_MIN_SECONDS,
    IDENTITY_RECHECK_RETRY_FRAMES,
    MAGNIFY_EVERY_FRAMES,
    MAGNIFY_SECONDS,
    MEDIA_PUSH_SECONDS,
    STATS_SECONDS,
)
from sessions.models import ExamSession

logger = logging.getLogger(__name__)

# A frame that waited longer than this while newer frames of the same student were queued is
# dropped: its news is stale and the newer frame says more. Audio and events are never dropped.
FRAME_STALE_SECONDS = 10.0


def frame_path():
    """The frame detector the workers use (settings.FRAME_PATH): the lean path on MediaPipe's
    models run bare, or MediaPipe's own graphs. Both answer `decode_jpeg` and `analyse_frame`
    alike; imported on first use, so a worker on the lean path never loads MediaPipe."""
    if settings.FRAME_PATH == "lite":
        from proctoring.detectors.lite import frames

        return frames
    return faces


def _captured_at(captured_ms: int) -> datetime:
    # The browser's clock is only trusted within a minute of ours; otherwise we use arrival time.
    now = timezone.now()
    try:
        captured = datetime.fromtimestamp(captured_ms / 1000, tz=timezone.get_current_timezone())
    except (OverflowError, ValueError, OSError):  # a header claiming a time past year 9999
        return now
    return captured if abs((now - captured).total_seconds()) < 60 else now


# How long the workers' lag gauges outlive their last analysed frame or chunk: an overload that
# ended with late frames must not look like one to the next class (proctoring.cadence reads it).
LAG_GAUGE_SECONDS = 30

# The still-frame gate's scene outlives the time it may be reused by a little, not for the exam;
# its layout's version: an entry of another layout is not reused.
STILL_KEEP_SECONDS = 30
STILL_VERSION = 1
# What a frame that showed something (or could not be read) leaves: no scene, only its seq.
_STILL_CLEARED = {"v": STILL_VERSION, "cleared": True}

# A student must not be able to tell when their first re-check comes.
_UNPREDICTABLE = random.SystemRandom()


class QueuedFrame(NamedTuple):
    """A frame as a batch brings it (proctoring.frame_batches)."""

    session_id: str
    seq: int
    captured_ms: int
    jpeg: bytes
    request_id: str | None = None  # the socket's: the frame's log lines here carry it


class QueuedChunk(NamedTuple):
    """An audio chunk as a batch brings it (proctoring.frame_batches)."""

    session_id: str
    seq: int
    captured_ms: int
    pcm: bytes
    request_id: str | None = None


def frames_analyse(*, frames: list[QueuedFrame]) -> list[str]:
    """Analyse a batch of frames, from any sessions, one after another as frame_analyse does.

    A batch delivered again (its worker died mid-way) analyses only the frames the first run did
    not finish: the others find their done mark. A frame that fails unexpectedly does not stop
    the frames after it; the first such error is raised once all have been tried, so the task
    still fails loudly.
    """
    return _each(
        frames,
        "frame",
        lambda f: frame_analyse(session_id=f.session_id, seq=f.seq, captured_ms=f.captured_ms, jpeg=f.jpeg),
    )


def audio_chunks_analyse(*, chunks: list[QueuedChunk]) -> list[str]:
    """Analyse a batch of audio chunks, one after another as `frames_analyse` does frames."""
    return _each(
        chunks,
        "audio",
        lambda c: audio_analyse(session_id=c.session_id, seq=c.seq, captured_ms=c.captured_ms, pcm=c.pcm),
    )


def _each(items: list, kind: str, analyse) -> list[str]:
    outcomes, failure = [], None
    for item in items:
        socket = {"request_id": item.request_id} if item.request_id else {}
        with structlog.contextvars.bound_contextvars(**socket):
            try:
                outcome = analyse(item)
            except Exception as exc:
                logger.exception("session %s %s %s failed", item.session_id, kind, item.seq)
                failure, outcome = failure or exc, "failed"
            logger.debug(
                f"{kind}_analysed", extra={"session_id": item.session_id, "seq": item.seq, "outcome": outcome}
            )
        outcomes.append(outcome)
    if failure is not None:
        raise failure
    return outcomes


def frame_analyse(*, session_id, seq: int, captured_ms: int, jpeg: bytes) -> str:
    """Analyse one webcam frame of a session; returns what happened ("done", "dropped", ...).

    The cache state it needs is read in one round trip before the models run and written in
    one after (procto.cache_batch): per-call round trips cost a quarter of the task.
    """
    keys = _FrameKeys(session_id, seq)
    known = cache.get_many(keys.all())
    writes = CacheBatch()
    try:
        return _frame_analyse(
            session_id=session_id,
            seq=seq,
            captured_ms=captured_ms,
            jpeg=jpeg,
            keys=keys,
            known=known,
            writes=writes,
        )
    finally:
        # Never below zero: a redelivered task may decrement twice.
        if (known.get(keys.pending) or 0) > 0:
            writes.incr(keys.pending, -1, STATS_SECONDS)  # an expired entry comes back expiring
        writes.apply()


class _FrameKeys:
    """The cache entries a frame task reads, named once."""

    def __init__(self, session_id, seq: int) -> None:
        self.done = stream_state.done_key(session_id, "frame", seq)
        self.pending = stream_state.pending_frames_key(session_id)
        self.latest = stream_state.latest_frame_key(session_id)
        self.lag = metric_key("frame_lag_seconds")
        self.identity = stream_state.identity_gate_key(session_id)
        self.identity_away = stream_state.identity_away_key(session_id)
        self.identity_gone = stream_state.identity_gone_key(session_id)
        self.identity_looked = stream_state.identity_looked_key(session_id)
        self.identity_streak = stream_state.identity_streak_key(session_id)
        self.identity_backoff = stream_state.identity_backoff_key(session_id)
        self.identity_first = stream_state.identity_first_key(session_id)
        self.pushed_faces = stream_state.pushed_faces_key(session_id)
        self.pushed_recently = stream_state.pushed_recently_key(session_id)
        self.sample = stream_state.sample_gate_key(session_id, "frame")
        self.magnified = stream_state.magnified_key(session_id)
        self.small_face = stream_state.small_face_key(session_id)
        self.still = stream_state.still_key(session_id)
        # The frame before this one: the still-frame gate answers a frame only once it is done.
        self.previous_done = stream_state.done_key(session_id, "frame", seq - 1)
        self.cadence = stream_state.cadence_key(session_id)
        self.states = [state_key(session_id, c) for c in observed_from(Observes.FRAME)]

    def all(self) -> list[str]:
        gates = [
            self.identity,
            self.identity_away,
            self.identity_gone,
            self.identity_looked,
            self.identity_streak,
            self.identity_backoff,
            self.identity_first,
            self.pushed_faces,
            self.pushed_recently,
            self.sample,
            self.magnified,
        ]
        return [
            self.done,
            self.pending,
            self.latest,
            self.lag,
            *gates,
            self.small_face,
            self.still,
            self.previous_done,
            self.cadence,
            *self.states,
        ]


def _frame_analyse(
    *, session_id, seq: int, captured_ms: int, jpeg: bytes, keys: _FrameKeys, known: dict, writes: CacheBatch
) -> str:
    if known.get(keys.done):
        return "duplicate"
    lag = max(0.0, time.time() - captured_ms / 1000)
    writes.set(keys.lag, gauge_average(known.get(keys.lag), lag), LAG_GAUGE_SECONDS)
    latest = known.get(keys.latest) or seq
    if lag > FRAME_STALE_SECONDS and latest > seq:
        writes.incr(metric_key("frames_dropped"))
        # Done: it will never end a scene, so the next frame may be answered by the gate (under
        # overload, when that saves most), and a copy delivered again is dropped at once.
        writes.set(keys.done, 1, DONE_SECONDS)
        return "dropped"
    magnify = not known.get(keys.magnified)
    try:
        path = frame_path()
        rgb = path.decode_jpeg(jpeg)
        thumbnail = still_detector.thumbnail(rgb) if settings.STILL_FRAME_THRESHOLD else None
        reused = (
            None
            if magnify
            else _still_analysis(
                session_id,
                seq,
                captured_ms,
                thumbnail,
                known.get(keys.still),
                after_done=known.get(keys.previous_done),
            )
        )
        analysis = reused or path.analyse_frame(rgb, magnify=magnify)
    except faces.FrameError as exc:
        logger.warning("session %s frame %s unreadable: %s", session_id, seq, exc.message)
        writes.incr(metric_key("frames_unreadable"))
        if settings.STILL_FRAME_THRESHOLD:
            # Before its done mark, as every frame's: the next frame, answered once this one is
            # done, must not take a scene that a frame before this one may still be ending.
            writes.set_newer(keys.still, _STILL_CLEARED | {"seq": seq}, STILL_KEEP_SECONDS, seq=seq)
        writes.set(keys.done, 1, DONE_SECONDS)
        return "unreadable"
    conditions = conditions_derive(Observes.FRAME, analysis)
    # The face count shown (card, monitors, timeline, event details): what the conditions see.
    face_count = analysis.face_count
    if analysis.magnified:
        window = _magnify_seconds(known.get(keys.cadence))
        writes.set(keys.magnified, 1, window)
        writes.set(keys.small_face, analysis.small_faces, 2 * window)
        writes.incr(metric_key("frames_magnified"))
    elif analysis.face_count == 1 and known.get(keys.small_face):
        # The last magnified frame found a face that a frame without the search cannot see (a
        # small face behind the student; on the lean path also one only the full-range model
        # finds, which light frames skip beside a face): a light frame never clears it, so
        # multiple-faces waits for the next magnified frame, and the count shown keeps that face
        # too, or a still picture of two people reads 2, 1, 1, 2.
        del conditions["multiple-faces"]
        face_count += known[keys.small_face]
    # The re-check asks how many faces this frame sees, not the count shown: a face held from the
    # last magnified frame (a photo on the wall behind the student) would make every frame read
    # 2, and the student in front of it would never be re-checked. Nor the faces only magnified
    # frames find: each of them (every MAGNIFY_SECONDS) would be an absence, and the light frame
    # after it a return to re-check, one dlib look every ~10 s for as long as the photo hangs.
    mismatch = _identity_recheck(
        session_id,
        seq,
        rgb,
        face_count=analysis.face_count - analysis.small_faces,
        # Where to look: only when this frame found that one face alone. Beside a face only the
        # heavy frame's search found, the larger could be the other person; dlib then searches
        # the whole frame, as it always did.
        face=analysis.faces[0] if len(analysis.faces) == 1 else None,
        keys=keys,
        known=known,
        writes=writes,
    )
    if mismatch is not None:
        conditions["identity-mismatch"] = mismatch
    # Calm: one face shown (no face held from a magnified frame) and nothing seen, the identity
    # re-check's answer included.
    calm = face_count == 1 and not any(conditions.values())
    _still_remember(
        seq, captured_ms, thumbnail, analysis, reused=reused is not None, calm=calm,
        keys=keys, known=known, writes=writes,
    )  # fmt: skip
    observed_at = _captured_at(captured_ms)
    details = {
        "faceCount": face_count,
        "headPose": analysis.head_pose.__dict__ if analysis.head_pose else None,
        "brightness": round(analysis.brightness, 1),
        "frameSeq": seq,
    }
    observations_apply(
        session_id=session_id,
        source="frame",
        seq=seq,
        observed_at=observed_at,
        conditions=conditions,
        details=details,
        snapshot=jpeg,
        confidence=max((f.score for f in analysis.faces), default=None),
        known_states={k: known.get(k) for k in keys.states},
    )
    writes.set(keys.done, 1, DONE_SECONDS)
    writes.incr(metric_key("frames_analysed"))
    media_series.frame_sample_record(
        session_id=session_id,
        at=observed_at,
        face_count=face_count,
        last=known.get(keys.sample),
    )
    metrics = {"faceCount": face_count, "at": time.time()}
    writes.set(stream_state.frame_metrics_key(session_id), metrics, STATS_SECONDS)
    # Monitors pull the thumbnail when they render; they are told only when the face count
    # changed or every MEDIA_PUSH_SECONDS, not for every frame of every student.
    if known.get(keys.pushed_faces) != face_count or not known.get(keys.pushed_recently):
        writes.set(keys.pushed_faces, face_count, STATS_SECONDS)
        writes.set(keys.pushed_recently, 1, MEDIA_PUSH_SECONDS)
        exam_id = ExamSession.objects.filter(pk=session_id).values_list("exam_id", flat=True).first()
        if exam_id is not None:
            realtime.broadcast_media(session_id, exam_id=exam_id, face_count=face_count, frame_seq=seq)
    return "done"


def _still_analysis(
    session_id, seq: int, captured_ms: int, thumbnail: bytes | None, still: dict | None, *, after_done
):
    """The analysis of the student's last calm frame, if this light frame shows the same scene
    (the still-frame gate, settings.STILL_FRAME_THRESHOLD); None: run the models.

    Only once the frame before this one is done (`after_done`, its done mark, written after its
    scene in the same pipeline): while another worker still analyses it, the scene read here may
    be one that frame is about to end.
    """
    if (
        not after_done
        or thumbnail is None
        or not isinstance(still, dict)
        or still.get("v") != STILL_VERSION
        or still.get("cleared")
    ):
        return None
    try:
        # Only forward and close in time: a late or redelivered frame, or one from a session
        # slowed past STILL_MAX_SECONDS, is analysed.
        if seq <= still["seq"] or not 0 <= captured_ms - still["at"] <= 1000 * stream_state.STILL_MAX_SECONDS:
            return None
        if still_detector.distance(thumbnail, still["thumbnail"]) >= settings.STILL_FRAME_THRESHOLD:
            return None
        analysis = still_detector.analysis_from_dict(still["analysis"])
    except (KeyError, TypeError, ValueError):
        return None  # an entry this release does not read: the models answer
    # Counted where two workers on one student's frames cannot both take the last reuse.
    reuses = stream_state.still_reuses_key(session_id, still["seq"])
    cache.add(reuses, 0, STILL_KEEP_SECONDS)
    try:
        if cache.incr(reuses) > stream_state.STILL_MAX_SKIPS:
            return None
    except ValueError:  # the count expired (or was evicted) between the two calls
        return None
    return analysis


def _still_remember(
    seq: int, captured_ms: int, thumbnail: bytes | None, analysis, *, reused: bool, calm: bool,
    keys: _FrameKeys, known: dict, writes: CacheBatch,
) -> None:  # fmt: skip
    """After a frame: a calm frame analysed becomes the scene later frames are compared with;
    any frame that was not calm ends the scene (a reused one too, should its identity re-check
    have found someone else); a reused calm one leaves it as it is (its reuse was counted). A
    frame older than the last one written changes nothing: the write is conditional in Redis
    (CacheBatch.set_newer), so of two workers on one student's frames, an older calm frame
    written late cannot bring back a scene a newer frame ended. (The other way round, a newer
    frame reading a scene an older one is about to end, `_still_analysis` waits for the older
    frame's done mark.)"""
    if thumbnail is None:
        return
    if reused:
        writes.incr(metric_key("frames_still"))
        if calm:
            return
    stored = known.get(keys.still)
    # Only saves the round trip: set_newer turns an older frame's write away in Redis itself.
    if isinstance(stored, dict) and isinstance(stored.get("seq"), int) and stored["seq"] >= seq:
        return
    if calm:
        still = {
            "v": STILL_VERSION,
            "seq": seq,
            "at": captured_ms,
            "thumbnail": thumbnail,
            "analysis": still_detector.analysis_to_dict(analysis),
        }
        writes.set_newer(keys.still, still, STILL_KEEP_SECONDS, seq=seq)
    else:
        # Even with no scene read: another worker may be writing an older calm frame's now.
        writes.set_newer(keys.still, _STILL_CLEARED | {"seq": seq}, STILL_KEEP_SECONDS, seq=seq)


def _magnify_seconds(slowed_ms: int | None) -> float:
    """How long after a magnified frame the next one waits: MAGNIFY_SECONDS, or for a session the
    overload governor slowed, all but the last second of MAGNIFY_EVERY_FRAMES of its pictures
    (at most MAGNIFY_SLOWED_MAX_SECONDS)."""
    if not slowed_ms:
        return MAGNIFY_SECONDS
    span = min(MAGNIFY_EVERY_FRAMES * slowed_ms / 1000, stream_state.MAGNIFY_SLOWED_MAX_SECONDS)
    return max(MAGNIFY_SECONDS, span - 1)


def _identity_recheck(
    session_id, seq: int, rgb, *, face_count: int, face: faces.FaceBox | None, keys: _FrameKeys,
    known: dict, writes: CacheBatch,
) -> bool | None:  # fmt: skip
    """Does the face on camera still match the verified photo? None: not checked on this frame.

    A look costs ~35 ms (dlib's detector on a crop around `face`, where this frame's analysis
    found the one face, then its embedding; ~65 ms over the whole frame without it), so it looks
    where a look can matter: on the first one-face frame after a frame whose face count was not
    one (the face was gone or covered: how a student is swapped for another; or someone else was
    in view), and otherwise every
    `identity_recheck_seconds` of the exam's policy, the first time at a random moment of the
    first minutes (IDENTITY_FIRST_RECHECK_SPREAD_SECONDS); never twice within
    IDENTITY_RECHECK_MIN_SECONDS. What decides it comes with the frame's other cache state: most
    frames are not a re-check and need no query at all.
    """
    checked = known.get(keys.identity)  # the frame last re-checked, while the interval runs
    away = known.get(keys.identity_away) or 0  # the latest frame without exactly one face
    gone = known.get(keys.identity_gone) or 0  # the latest frame with no face at all
    if face_count != 1:
        if seq > away:
            writes.set(keys.identity_away, seq, STATS_SECONDS)
        if face_count == 0 and seq > gone:
            writes.set(keys.identity_gone, seq, STATS_SECONDS)
        return None
    returned = away > (checked or 0)  # a frame without one face came after the last re-check
    # Since the last look: a frame with no face at all (the seat empty: how a swap shows), or
    # only frames with more than one face (a second face came and went).
    looked = known.get(keys.identity_looked) or 0
    after_absence = gone > looked
    from_crowd = away > looked and not after_absence
    if checked is not None and not returned:
        return None
    if checked is not None and from_crowd and known.get(keys.identity_backoff):
        return None  # a second face came and went again: looked at once the backoff ends
    if checked is None and not returned and not known.get(keys.identity_first):
        # The session's first one-face frame: its first re-check is spread over the next minutes
        # (stream_state.IDENTITY_FIRST_RECHECK_SPREAD_SECONDS), not run with the whole class's.
        writes.set(keys.identity_first, 1, STATS_SECONDS)
        first = _UNPREDICTABLE.randint(
            IDENTITY_RECHECK_MIN_SECONDS, stream_state.IDENTITY_FIRST_RECHECK_SPREAD_SECONDS
        )
        writes.set(keys.identity, seq, first)
        return None
    # Whoever adds the mark runs the re-check: two workers on a student's consecutive frames run
    # one between them, and a face flickering in and out of view costs one per interval of it.
    if not cache.add(stream_state.identity_recent_key(session_id), 1, IDENTITY_RECHECK_MIN_SECONDS):
        return None
    session = ExamSession.objects.select_related("student", "exam").filter(pk=session_id).first()
    if session is None:
        return None
    interval = policy_for(session)["identity_recheck_seconds"]
    if not session.student.face_embedding:
        writes.set(keys.identity, seq, interval)
        return None
    writes.incr(metric_key("identity_rechecks"))
    writes.set(keys.identity_looked, seq, STATS_SECONDS)
    mismatch = None
    try:
        near = None if face is None else (face.x, face.y, face.width, face.height)
        live = identity_detector.face_embedding(rgb, near=near)
    except identity_detector.FaceImageError:
        # Too small or unclear for dlib this time. Someone who just sat down may be blurred: a
        # return is tried again on later frames for a while; a periodic re-check waits its interval.
        if not (returned and seq - away <= IDENTITY_RECHECK_RETRY_FRAMES):
            writes.set(keys.identity, seq, interval)
    else:
        reference = embedding_decrypt(session.student.face_embedding)
        mismatch = not identity_detector.compare_embeddings(reference, live).match
        # After a mismatch the next look comes soon, not an interval later: it keeps the critical
        # alert open on someone else, or closes it if the light misled dlib.
        writes.set(keys.identity, seq, IDENTITY_RECHECK_MIN_SECONDS if mismatch else interval)
    # A look dlib could not read backs off too: a second face still coming and going would
    # otherwise make it a try every 30 s.
    _identity_spacing(
        mismatch=bool(mismatch), from_crowd=from_crowd, after_absence=after_absence, interval=interval,
        keys=keys, known=known, writes=writes,
    )  # fmt: skip
    return mismatch


def _identity_spacing(
    *, mismatch: bool, from_crowd: bool, after_absence: bool, interval: int, keys: _FrameKeys,
    known: dict, writes: CacheBatch,
) -> None:  # fmt: skip
    """After a look at a face back from a multi-face spell that did not find someone else, the
    next such return waits 60 s, then IDENTITY_RECHECK_BACKOFF_MAX_SECONDS (never more than the
    policy's interval): a second face coming and going costs a look every two minutes, not every
    30 s. A return after the face was gone is never backed off (how a swap shows): it, and a
    mismatch, start the streak over. A periodic look with no return leaves it as it is."""
    if mismatch or after_absence:
        if known.get(keys.identity_streak) or known.get(keys.identity_backoff):
            writes.set(keys.identity_streak, 0, interval)
            writes.set(keys.identity_backoff, 0, 1)  # no longer holding any return back
        return
    if not from_crowd:
        return
    streak = min((known.get(keys.identity_streak) or 0) + 1, 8)
    writes.set(keys.identity_streak, streak, 2 * interval)
    spacing = min(interval, IDENTITY_RECHECK_BACKOFF_MAX_SECONDS, IDENTITY_RECHECK_MIN_SECONDS * 2**streak)
    writes.set(keys.identity_backoff, 1, spacing)


def audio_analyse(*, session_id, seq: int, captured_ms: int, pcm: bytes) -> str:
    """Analyse one second of microphone audio of a session."""
    done, lag = stream_state.done_key(session_id, "audio", seq), metric_key("audio_lag_seconds")
    states = [state_key(session_id, c) for c in observed_from(Observes.AUDIO)]
    sample_gate = stream_state.sample_gate_key(session_id, "audio")
    loud = stream_state.loud_seq_key(session_id)
    known = cache.get_many([done, lag, sample_gate, loud, *states])
    if known.get(done):
        return "duplicate"
    writes = CacheBatch()
    try:
        writes.set(
            lag, gauge_average(known.get(lag), max(0.0, time.time() - captured_ms / 1000)), LAG_GAUGE_SECONDS
        )
        try:
            samples = audio_detector.pcm_to_float(pcm)
        except audio_detector.AudioError as exc:
            logger.warning("session %s audio %s unreadable: %s", session_id, seq, exc.message)
            writes.set(done, 1, DONE_SECONDS)
            return "unreadable"
        observed_at = _captured_at(captured_ms)
        level = audio_detector.level_dbfs(samples)
        if level < audio_detector.SILENCE_DBFS:
            # A quiet exam room is the usual chunk: nothing to find, so no pitch tracking (6 ms).
            observations_apply(
                session_id=session_id,
                source="audio",
                seq=seq,
                observed_at=observed_at,
                conditions=dict.fromkeys(observed_from(Observes.AUDIO), False),
                details={"audioSeq": seq, "silent": True},
                known_states={k: known.get(k) for k in states},
            )
            # Not for a chunk older than the last loud one (two workers can take a student's
            # chunks out of order): the quiet after speech must keep reaching the workers.
            if seq > (known.get(loud) or 0) and not any(state_active(known.get(k)) for k in states):
                writes.set(stream_state.audio_idle_key(session_id), 1, AUDIO_IDLE_SECONDS)
        else:
            writes.set(stream_state.audio_idle_key(session_id), 0, AUDIO_IDLE_SECONDS)
            writes.set(loud, max(seq, known.get(loud) or 0), STATS_SECONDS)
            known_states = {k: known.get(k) for k in states}
            _audio_sounds(session_id, seq, observed_at, samples, known_states=known_states)
        media_series.audio_sample_record(
            session_id=session_id, at=observed_at, level_dbfs=level, due=not known.get(sample_gate)
        )
        writes.set(done, 1, DONE_SECONDS)
        return "done"
    finally:
        writes.apply()


def _audio_sounds(session_id, seq: int, observed_at: datetime, samples, *, known_states: dict) -> None:
    """A chunk louder than silence: speech, voices, noise, music."""
    analysis = audio_detector.analyse_chunk(samples)
    tracker = cache.get(stream_state.voices_key(session_id)) or audio_detector.VoiceTracker()
    voices = tracker.update(analysis, samples, seq=seq)
    cache.set(stream_state.voices_key(session_id), tracker, STATS_SECONDS)
    conditions = conditions_derive(Observes.AUDIO, AudioObservation(analysis, voices))
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
        observed_at=observed_at,
        conditions=conditions,
        details=details,
        known_states=known_states,
    )
