"""What the stream socket does with accepted media: statistics, queueing, quiet microphones."""

from __future__ import annotations

import time

import numpy as np
import pytest
from django.core.cache import cache

from procto.celery import app as celery_app
from proctoring.detections import state_active, state_key
from proctoring.media import media_received, parts_received
from proctoring.models import MediaSample, ProctoringEvent
from proctoring.stream import AUDIO, FRAME, MediaMessage
from proctoring.stream_state import audio_idle_key, done_key, sample_gate_key, stream_stats
from proctoring.tests import audio_fixtures as sounds
from proctoring.tests.media import webcam_jpeg

pytestmark = pytest.mark.django_db


def pcm(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def analysed(session, kind: str) -> set[int]:
    return {seq for seq in range(1, 40) if cache.get(done_key(session.pk, kind, seq))}


def send_audio(session, seq: int, samples: np.ndarray) -> None:
    """Chunk `seq` as if recorded a second after chunk `seq - 1`, starting 50 s ago."""
    captured_ms = int(time.time() * 1000) - 50_000 + seq * 1000
    media_received(
        session_id=session.pk, kind="audio", seq=seq, captured_ms=captured_ms, payload=pcm(samples)
    )


@pytest.fixture(autouse=True)
def tasks_in_process():
    """The worker's half runs here, against the same cache (test_pipeline_live has real workers)."""
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = saved


def test_a_quiet_microphone_is_analysed_once_per_sample_interval_not_every_second(world):
    session = world.stu_in_physics  # high security
    quiet = sounds.quiet_room(1.0)
    for seq in range(1, 11):
        send_audio(session, seq, quiet)
    # The first chunk tells the worker the room is quiet; the next nine stay on the socket.
    assert analysed(session, "audio") == {1}
    assert stream_stats(session.pk)["audio:count"] == 10
    assert MediaSample.objects.filter(session=session, kind="audio").count() == 1
    # When the sample interval has passed, the next quiet chunk goes to the worker again.
    cache.delete(sample_gate_key(session.pk, "audio"))
    send_audio(session, 11, quiet)
    assert analysed(session, "audio") == {1, 11}
    assert MediaSample.objects.filter(session=session, kind="audio").count() == 2


def test_speech_is_always_analysed_and_the_quiet_after_it_until_its_event_closes(world):
    session = world.stu_in_physics  # high security
    quiet = sounds.quiet_room(1.0)
    talk = sounds.speech("The answer to question four is seven, and to question five it is twelve.")
    send_audio(session, 1, quiet)
    chunks = [talk[i : i + sounds.RATE] for i in range(0, len(talk) - sounds.RATE // 2, sounds.RATE)]
    for offset, chunk in enumerate(chunks):
        send_audio(session, 2 + offset, np.pad(chunk, (0, sounds.RATE - len(chunk))))
    after = 2 + len(chunks)
    assert analysed(session, "audio") == set(range(1, after))
    assert ProctoringEvent.objects.filter(session=session, type="speech-detected").exists()
    assert state_active(cache.get(state_key(session.pk, "speech-detected")))
    # The quiet seconds after speech go to the worker until the event is released (6 s at
    # high security) and the worker marks the microphone idle; then the socket keeps them.
    for seq in range(after, after + 12):
        send_audio(session, seq, quiet)
    quiet_analysed = analysed(session, "audio") - set(range(1, after))
    assert set(range(after, after + 7)) <= quiet_analysed
    assert after + 11 not in quiet_analysed
    assert not state_active(cache.get(state_key(session.pk, "speech-detected")))


def test_frames_are_always_queued_and_counted(world):
    session = world.stu_in_physics  # high security
    jpeg = webcam_jpeg()
    for seq in (1, 2, 3):
        slow_down = media_received(
            session_id=session.pk, kind="frame", seq=seq, captured_ms=int(time.time() * 1000), payload=jpeg
        )
        assert slow_down is False
    assert analysed(session, "frame") == {1, 2, 3}
    stats = stream_stats(session.pk)
    assert stats["frame:count"] == 3 and stats["frame:last_seq"] == 3


def test_a_quiet_chunk_older_than_the_last_loud_one_does_not_mark_the_microphone_idle(world):
    # Two workers took this student's chunks out of order: 2 (a faint sound, louder than
    # silence but nothing to report) was analysed before 1 (silence).
    session = world.stu_in_physics  # high security
    faint = sounds.at_level(sounds.quiet_room(1.0), 15.0)
    send_audio(session, 2, faint)
    assert cache.get(audio_idle_key(session.pk)) == 0
    send_audio(session, 1, sounds.quiet_room(1.0))
    assert not cache.get(audio_idle_key(session.pk))
    send_audio(session, 3, sounds.quiet_room(1.0))  # the next quiet second: it may be idle now
    assert cache.get(audio_idle_key(session.pk)) == 1


def test_a_bundle_of_quiet_seconds_sends_the_worker_one_per_sample_interval(world):
    session = world.stu_in_physics  # high security
    quiet = pcm(sounds.quiet_room(1.0))
    send_audio(session, 1, sounds.quiet_room(1.0))  # the worker learns the room is quiet
    cache.delete(sample_gate_key(session.pk, "audio"))  # and the sample interval has passed
    now = int(time.time() * 1000)
    parts = [
        MediaMessage(kind=AUDIO, seq=seq, captured_ms=now - 3000 + seq * 1000, payload=quiet)
        for seq in (2, 3)
    ]
    parts.append(MediaMessage(kind=FRAME, seq=1, captured_ms=now, payload=webcam_jpeg()))
    assert parts_received(session_id=session.pk, parts=parts) is False
    # As two messages a second apart would have been: the first quiet second is the sample.
    assert analysed(session, "audio") == {1, 2}
    assert analysed(session, "frame") == {1}
    stats = stream_stats(session.pk)
    assert (stats["audio:count"], stats["audio:last_seq"], stats["frame:count"]) == (3, 3, 1)


def test_every_second_of_a_bundle_with_speech_is_analysed(world):
    session = world.stu_in_physics  # high security
    send_audio(session, 1, sounds.quiet_room(1.0))
    talk = sounds.speech("The answer to question four is seven.")[: sounds.RATE]
    now = int(time.time() * 1000)
    parts = [
        MediaMessage(kind=AUDIO, seq=2, captured_ms=now - 2000, payload=pcm(sounds.quiet_room(1.0))),
        MediaMessage(kind=AUDIO, seq=3, captured_ms=now - 1000, payload=pcm(talk)),
    ]
    parts_received(session_id=session.pk, parts=parts)
    assert analysed(session, "audio") >= {1, 3}
