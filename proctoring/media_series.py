"""The media time series the review page charts: faces on camera and microphone level over time.

Called by the analysis worker for every frame and audio chunk, so the common path is one cache
round trip and no query: a session gets at most one row per kind per SAMPLE_SECONDS, plus a frame
row whenever the face count changes (a second face for four seconds must show on the chart even
between two regular samples).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.cache import cache
from django.db import IntegrityError

from proctoring.detectors.audio import FLOOR_DBFS
from proctoring.models import MediaSample
from proctoring.stream_state import sample_gate_key

logger = logging.getLogger(__name__)

SAMPLE_SECONDS = 10


_UNREAD = object()


def frame_sample_record(*, session_id, at: datetime, face_count: int, last=_UNREAD) -> bool:
    """Keep this frame's face count if the last kept one is SAMPLE_SECONDS old or different.

    The gate's cache entry (`stream_state.sample_gate_key`) holds the last kept count, so an unchanged count
    inside the window costs one `get`, or none when the caller read it already (`last`).
    Returns whether a row was written.
    """
    key = sample_gate_key(session_id, MediaSample.Kind.FRAME)
    if last is _UNREAD:
        last = cache.get(key)
    if last == face_count:
        return False
    if last is None:
        # The window has passed: of two workers racing here, only the one that adds writes.
        if not cache.add(key, face_count, SAMPLE_SECONDS):
            return False
    else:
        # A change starts a new window, so the count is sampled again SAMPLE_SECONDS later.
        cache.set(key, face_count, SAMPLE_SECONDS)
    return _insert(session_id, MediaSample.Kind.FRAME, at, face_count=face_count)


def audio_sample_record(*, session_id, at: datetime, level_dbfs: float, due: bool = True) -> bool:
    """Keep this chunk's level if none was kept for the session in the last SAMPLE_SECONDS.

    `due=False`: the caller read the gate (`stream_state.sample_gate_key`) and found it closed, no round trip.
    """
    if not due or not cache.add(sample_gate_key(session_id, MediaSample.Kind.AUDIO), 1, SAMPLE_SECONDS):
        return False
    # Digital silence has no finite level; the detectors' floor keeps the chart's axis sane.
    level = round(max(float(level_dbfs), FLOOR_DBFS), 1)
    return _insert(session_id, MediaSample.Kind.AUDIO, at, level_dbfs=level)


def _insert(session_id, kind: str, at: datetime, **value) -> bool:
    try:
        MediaSample.objects.create(session_id=session_id, kind=kind, at=at, **value)
    except IntegrityError:
        # The session was deleted while its media was queued: nothing to chart, nothing to fail.
        logger.info("media sample for missing session %s dropped", session_id)
        return False
    return True
