"""The media time series: a sample per session and kind every 10 s, and every face-count change."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest
from django.utils import timezone

from proctoring import media_series, pipeline
from proctoring.models import MediaSample
from proctoring.tests.media import tone_pcm, webcam_jpeg

pytestmark = pytest.mark.django_db


def faces_of(session) -> list[int]:
    return list(
        MediaSample.objects.filter(session=session, kind="frame").values_list("face_count", flat=True)
    )


def test_audio_is_kept_once_per_window(world, clock):
    session = world.cat_in_chemistry
    kept = [
        media_series.audio_sample_record(session_id=session.pk, at=timezone.now(), level_dbfs=-40.0 - i)
        for i in range(5)
    ]
    assert kept == [True, False, False, False, False]
    clock.shift(media_series.SAMPLE_SECONDS - 1)
    assert not media_series.audio_sample_record(session_id=session.pk, at=timezone.now(), level_dbfs=-35.0)
    clock.shift(1)
    assert media_series.audio_sample_record(session_id=session.pk, at=timezone.now(), level_dbfs=-30.0)
    levels = MediaSample.objects.filter(session=session, kind="audio").values_list("level_dbfs", flat=True)
    assert list(levels) == [-40.0, -30.0]


def test_each_session_has_its_own_window(world):
    session = world.cat_in_chemistry
    other = world.hal_in_history
    for s in (session, other):
        assert media_series.audio_sample_record(session_id=s.pk, at=timezone.now(), level_dbfs=-50)
    assert MediaSample.objects.count() == 2


def test_an_unchanged_face_count_is_kept_once_per_window(world, clock):
    session = world.cat_in_chemistry
    for _ in range(4):
        media_series.frame_sample_record(session_id=session.pk, at=timezone.now(), face_count=1)
    assert faces_of(session) == [1]
    clock.shift(media_series.SAMPLE_SECONDS - 1)
    media_series.frame_sample_record(session_id=session.pk, at=timezone.now(), face_count=1)
    assert faces_of(session) == [1]
    clock.shift(1)
    media_series.frame_sample_record(session_id=session.pk, at=timezone.now(), face_count=1)
    assert faces_of(session) == [1, 1]


def test_a_changed_face_count_is_kept_at_once(world):
    session = world.cat_in_chemistry
    for count in (1, 1, 2, 2, 2, 1, 0, 0):
        media_series.frame_sample_record(session_id=session.pk, at=timezone.now(), face_count=count)
    assert faces_of(session) == [1, 2, 1, 0]


def test_an_unchanged_frame_inside_the_window_costs_no_query(world, django_assert_num_queries):
    session = world.cat_in_chemistry
    media_series.frame_sample_record(session_id=session.pk, at=timezone.now(), face_count=1)
    media_series.audio_sample_record(session_id=session.pk, at=timezone.now(), level_dbfs=-45)
    with django_assert_num_queries(0):
        for _ in range(20):
            media_series.frame_sample_record(session_id=session.pk, at=timezone.now(), face_count=1)
            media_series.audio_sample_record(session_id=session.pk, at=timezone.now(), level_dbfs=-45)


def test_digital_silence_is_kept_at_the_detectors_floor(world):
    session = world.cat_in_chemistry
    media_series.audio_sample_record(session_id=session.pk, at=timezone.now(), level_dbfs=-200.0)
    assert MediaSample.objects.get().level_dbfs == -120.0


@pytest.mark.django_db(transaction=True)
def test_a_sample_for_a_deleted_session_is_dropped_quietly():
    gone = uuid.uuid4()
    assert media_series.audio_sample_record(session_id=gone, at=timezone.now(), level_dbfs=-30) is False
    assert media_series.frame_sample_record(session_id=gone, at=timezone.now(), face_count=1) is False
    assert not MediaSample.objects.exists()


# --- the worker records them -----------------------------------------------------------------------


def now_ms() -> int:
    return int(time.time() * 1000)


def test_the_worker_records_the_face_count_of_an_analysed_frame(world, settings, tmp_path):
    session = world.cat_in_chemistry
    settings.MEDIA_ROOT = tmp_path
    assert (
        pipeline.frame_analyse(session_id=session.pk, seq=1, captured_ms=now_ms(), jpeg=webcam_jpeg())
        == "done"
    )
    assert faces_of(session) == [1]


def test_an_unreadable_frame_records_nothing(world):
    session = world.cat_in_chemistry
    pipeline.frame_analyse(session_id=session.pk, seq=1, captured_ms=now_ms(), jpeg=b"not a jpeg")
    assert faces_of(session) == []


def test_the_worker_records_the_level_of_silent_and_loud_audio(world):
    session = world.cat_in_chemistry
    silent = np.zeros(16_000, dtype="<i2").tobytes()
    assert pipeline.audio_analyse(session_id=session.pk, seq=1, captured_ms=now_ms(), pcm=silent) == "done"
    other = world.hal_in_history
    assert pipeline.audio_analyse(session_id=other.pk, seq=1, captured_ms=now_ms(), pcm=tone_pcm()) == "done"
    assert MediaSample.objects.get(session=session).level_dbfs == -120.0
    # A 0.3-amplitude sine is about -13.5 dBFS.
    assert MediaSample.objects.get(session=other).level_dbfs == pytest.approx(-13.5, abs=1)
