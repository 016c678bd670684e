"""A session's stream state in the cache: every key and how long it lives, named once.

The stream socket records what arrived (proctoring.media), the analysis worker what it found and
the gates that spare it work (proctoring.pipeline, proctoring.media_series), the heartbeat whether
the stream went quiet (proctoring.heartbeat); the socket's welcome and the monitor's selectors
read them back. The condition states (`hysteresis:*`) belong to the event service, not here.

No model, detector or pipeline import: the web process imports this module and must load neither
MediaPipe nor dlib (proctoring/tests/test_web_imports.py).
"""

from __future__ import annotations

from django.core.cache import cache

# What arrived and when, and what the worker remembers of a session between its frames (voices
# heard, the face count monitors were last told): longer than any exam sitting.
STATS_SECONDS = 6 * 3600
# A frame or chunk stays marked as analysed for longer than the broker takes to redeliver it.
DONE_SECONDS = 3600
# Monitors pull the thumbnail when they render; they are told of a new frame only when the face
# count changed or every MEDIA_PUSH_SECONDS, not for every frame of every student.
MEDIA_PUSH_SECONDS = 10
# The magnified search for small faces (someone standing behind the student) costs about as
# much as the rest of the frame's analysis; it runs on a student's frame at most this often.
MAGNIFY_SECONDS = 6
# A session the overload governor slowed (proctoring.cadence) sends a picture every 4-8 s at high
# security: with MAGNIFY_SECONDS alone every one of them would get the search, and slowing would
# save the workers little (a class of 300 on two cores stayed 9 s behind). Its search runs on
# every MAGNIFY_EVERY_FRAMES-th picture instead, as at its own 2 s cadence, but never more than
# MAGNIFY_SLOWED_MAX_SECONDS apart, or a picture apart where pictures are further apart than that
# (medium slowed: every 2nd picture, 20 s; low: every one).
MAGNIFY_EVERY_FRAMES = 3
MAGNIFY_SLOWED_MAX_SECONDS = 20
# The still-frame gate reuses an analysis for at most this many frames in a row, and only within
# this many seconds of the frame analysed: at 2 s two frames, a session slowed to 4 s one, to 8 s none.
STILL_MAX_SKIPS = 2
STILL_MAX_SECONDS = 4.5
# How long the worker's "this microphone is idle" lasts unless a later chunk renews it.
AUDIO_IDLE_SECONDS = 30
# The identity re-check (dlib, ~35 ms) runs on a one-face frame after the face was gone or the
# face count changed, and otherwise every `identity_recheck_seconds` of the exam's policy; never
# twice for one session within this many seconds, so a return after the face was gone (how a
# student is swapped for another) is looked at this late at most after the previous look. At
# 10 s the pipeline bench's alerting students (a second face every 12 s) cost 300 an hour each.
IDENTITY_RECHECK_MIN_SECONDS = 30
# A second face that keeps coming and going, with the student's face matching at each return to
# one face, is looked at further apart: 60 s after the first such look, then this (or the
# policy's interval, if shorter), instead of every 30 s (120 looks an hour, ~0.4 of a core at 300
# students). Only returns from a multi-face spell back off: a return after a frame without any
# face is looked at as before, and a mismatch starts over (pipeline._identity_spacing).
IDENTITY_RECHECK_BACKOFF_MAX_SECONDS = 120
# A re-check the face's return made due that finds no face dlib can read (blurred as someone sits
# down) is tried again on the frames that follow, up to this many frames after the return (a
# minute at the 2 s cadence); then it waits for the policy's interval.
IDENTITY_RECHECK_RETRY_FRAMES = 30
# A session's first periodic re-check comes at a random moment between IDENTITY_RECHECK_MIN_SECONDS
# and this after its first one-face frame, not on that frame: a class starting together would put
# all its first re-checks (~35 ms of CPU each; ~130 ms before 2026-12-07) into the same seconds,
# when every student's first frames arrive. The identity check before the start vouches for those
# minutes, and a face that comes back after being gone is re-checked at once, as ever.
IDENTITY_FIRST_RECHECK_SPREAD_SECONDS = 120


def _key(session_id, name: str) -> str:
    return f"stream:{session_id}:{name}"


# --- Written by the stream socket for every accepted message (proctoring.media) ----------------


def last_seq_key(session_id, kind: str) -> str:
    """The sequence number of the latest frame or audio chunk received (`kind`)."""
    return _key(session_id, f"{kind}:last_seq")


def last_at_key(session_id, kind: str) -> str:
    """When (epoch seconds) the latest frame or audio chunk was received."""
    return _key(session_id, f"{kind}:last_at")


def count_key(session_id, kind: str) -> str:
    """How many frames or audio chunks were received."""
    return _key(session_id, f"{kind}:count")


def thumbnail_key(session_id) -> str:
    """The JPEG of the latest frame received, served to the monitor (proctoring.views)."""
    return _key(session_id, "thumbnail")


def latest_frame_key(session_id) -> str:
    """The latest frame sequence queued: a worker drops a stale frame when a newer one waits."""
    return _key(session_id, "frame:latest_enqueued")


def pending_frames_key(session_id) -> str:
    """Frames queued and not yet analysed: the socket's backpressure."""
    return _key(session_id, "frame:pending")


# --- Written by the analysis worker (proctoring.pipeline, proctoring.media_series) -------------


def done_key(session_id, kind: str, seq: int) -> str:
    """Set once a frame or chunk is analysed: a redelivered task finds it and stops."""
    return f"analysed:{session_id}:{kind}:{seq}"


def frame_metrics_key(session_id) -> str:
    """{"faceCount", "at"} of the latest analysed frame, for the monitor's cards."""
    return _key(session_id, "metrics")


def pushed_faces_key(session_id) -> str:
    """The face count monitors were last told about."""
    return _key(session_id, "pushed-faces")


def pushed_recently_key(session_id) -> str:
    """Set for MEDIA_PUSH_SECONDS after monitors were told of a frame."""
    return _key(session_id, "media-pushed")


def magnified_key(session_id) -> str:
    """Set for MAGNIFY_SECONDS (longer for a slowed session) after a frame got the magnified
    search."""
    return _key(session_id, "magnified")


def still_key(session_id) -> str:
    """The last analysed frame that showed nothing, for the still-frame gate: its seq, capture
    time, thumbnail and analysis; or, after a frame that showed something, only that frame's seq
    (proctoring.pipeline)."""
    return _key(session_id, "still")


def still_reuses_key(session_id, seq: int) -> str:
    """How many frames reused the analysis of the calm frame `seq` (at most STILL_MAX_SKIPS)."""
    return _key(session_id, f"still-reuses:{seq}")


def small_face_key(session_id) -> str:
    """Whether the last magnified search found a small face behind the student."""
    return _key(session_id, "small-face")


def identity_gate_key(session_id) -> str:
    """The frame (seq) last re-checked, kept while the exam policy's re-check interval runs."""
    return f"identity-recheck:{session_id}"


def identity_away_key(session_id) -> str:
    """The latest frame (seq) whose face count was not one: gone, covered, or someone else in
    view. A one-face frame after it, and after the last re-check, is re-checked."""
    return f"identity-away:{session_id}"


def identity_first_key(session_id) -> str:
    """Set once a session's first one-face frame scheduled its first re-check."""
    return f"identity-first:{session_id}"


def identity_recent_key(session_id) -> str:
    """Set for IDENTITY_RECHECK_MIN_SECONDS by the worker that runs a session's re-check."""
    return f"identity-recent:{session_id}"


def identity_gone_key(session_id) -> str:
    """The latest frame of a session with no face at all (identity_away_key's, without the
    multi-face frames): a return after it is never backed off."""
    return f"identity-gone:{session_id}"


def identity_looked_key(session_id) -> str:
    """The frame of a session's last dlib look (identity_gate_key's expires with the interval):
    what came since, a face gone or a second face, decides whether a return backs off."""
    return f"identity-looked:{session_id}"


def identity_streak_key(session_id) -> str:
    """How many re-checks in a row a return from a multi-face spell made due, each matching."""
    return f"identity-streak:{session_id}"


def identity_backoff_key(session_id) -> str:
    """Set while a return from a multi-face spell waits (IDENTITY_RECHECK_BACKOFF_MAX_SECONDS)."""
    return f"identity-backoff:{session_id}"


def voices_key(session_id) -> str:
    """The session's VoiceTracker: the voices heard so far. Named after the speaker model: a
    worker of the release before CAM++ (256-number GE2E voiceprints) still running beside a new
    one during a deploy keeps its own tracker, never one holding voiceprints it cannot compare."""
    return _key(session_id, "voices-campplus")


def audio_idle_key(session_id) -> str:
    """Set while a session's microphone hears nothing and no audio condition is running: the
    stream socket then forwards only one silent chunk per sample interval (proctoring.media)."""
    return _key(session_id, "audio-idle")


def loud_seq_key(session_id) -> str:
    """The latest audio chunk louder than silence: older quiet chunks do not make the mic idle."""
    return _key(session_id, "audio-loud-seq")


def sample_gate_key(session_id, kind: str) -> str:
    """The media chart's sampling gate for "frame" or "audio" (proctoring.media_series)."""
    return f"media-sample:{session_id}:{kind}"


# --- Written by the heartbeat (proctoring.heartbeat) ------------------------------------------


def unmonitored_key(session_id) -> str:
    """Whether the session's camera and microphone went quiet for too long."""
    return _key(session_id, "unmonitored")


# --- Written by the overload governor (proctoring.cadence) --------------------------------------


def cadence_key(session_id) -> str:
    """The slowed frame interval (ms) of a session the governor slowed; absent: its level's."""
    return _key(session_id, "cadence")


# --- Reads ---------------------------------------------------------------------------------------

_STATS = [(kind, field) for kind in ("frame", "audio") for field in ("last_seq", "count", "last_at")]
_STATS_KEYS = {"last_seq": last_seq_key, "count": count_key, "last_at": last_at_key}


def stream_stats(session_id) -> dict:
    """What arrived for one session: {"frame:last_seq", "frame:count", "frame:last_at", and
    the same for "audio:"}, None where nothing did, and "cadence" (the slowed frame interval, or
    None), in one round trip."""
    keys = {f"{kind}:{field}": _STATS_KEYS[field](session_id, kind) for kind, field in _STATS}
    keys["cadence"] = cadence_key(session_id)
    values = cache.get_many(list(keys.values()))
    return {name: values.get(key) for name, key in keys.items()}


def monitor_stream_state(session_ids: list) -> dict:
    """For each session, what the monitor's card shows of its stream, in one round trip:
    {"frame:last_at", "audio:last_at", "frame:last_seq", "metrics", "unmonitored", "cadence"}."""
    keys = {
        sid: {
            "frame:last_at": last_at_key(sid, "frame"),
            "audio:last_at": last_at_key(sid, "audio"),
            "frame:last_seq": last_seq_key(sid, "frame"),
            "metrics": frame_metrics_key(sid),
            "unmonitored": unmonitored_key(sid),
            "cadence": cadence_key(sid),
        }
        for sid in session_ids
    }
    wanted = [key for per in keys.values() for key in per.values()]
    values = cache.get_many(wanted) if wanted else {}
    return {sid: {name: values.get(key) for name, key in per.items()} for sid, per in keys.items()}
