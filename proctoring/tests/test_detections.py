"""Conditions seen by the workers become events a proctor can trust."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from procto.encrypted_files import read_encrypted
from proctoring.detections import observations_apply
from proctoring.heartbeat import stream_heartbeats_check
from proctoring.media import media_received
from proctoring.models import ProctoringEvent
from proctoring.services import session_risk_update
from proctoring.stream_state import unmonitored_key
from proctoring.tests.media import webcam_jpeg
from sessions.models import ExamSession
from sessions.tests.factories import ExamSessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def feed(session, condition: str, pattern: list[bool], *, start=None, cadence=2.0, snapshot=None, seq0=1):
    start = start or timezone.now() - timedelta(minutes=5)
    for i, present in enumerate(pattern):
        observations_apply(
            session_id=session.pk,
            source="frame",
            seq=seq0 + i,
            observed_at=start + timedelta(seconds=i * cadence),
            conditions={condition: present},
            details={"faceCount": 0 if present else 1},
            snapshot=snapshot,
        )


def test_a_thirty_second_absence_is_one_event_lasting_thirty_seconds(world):
    session = world.cat_in_chemistry  # medium security
    feed(session, "face-not-visible", [True] * 16 + [False] * 5)
    event = ProctoringEvent.objects.get()
    assert (event.type, event.severity, event.source) == ("face-not-visible", "medium", "server")
    assert event.duration_seconds == 30


def test_a_glance_away_raises_nothing(world):
    session = world.cat_in_chemistry  # medium security
    feed(session, "face-not-visible", [False, True, True, False, False, False])  # 4 s < 10 s onset
    assert not ProctoringEvent.objects.exists()


def test_two_faces_open_an_event_with_an_encrypted_snapshot(world):
    session = world.cat_in_chemistry  # medium security
    jpeg = webcam_jpeg()
    feed(session, "multiple-faces", [True, True, True], snapshot=jpeg)
    event = ProctoringEvent.objects.get()
    assert event.severity == "high"
    assert read_encrypted(event.snapshot) == jpeg


def test_a_redelivered_observation_does_not_duplicate_the_event(world):
    session = world.cat_in_chemistry  # medium security
    feed(session, "multiple-faces", [True, True, True])
    feed(session, "multiple-faces", [True, True, True])  # the same seqs and times again
    assert ProctoringEvent.objects.count() == 1


def test_events_raise_the_risk_score_and_flag_the_session(world):
    session = world.cat_in_chemistry  # medium security
    for seq0, condition in ((1, "multiple-faces"), (100, "camera-blocked"), (200, "face-not-visible")):
        feed(session, condition, [True] * 40, seq0=seq0)
    session.refresh_from_db()
    assert session.risk_score >= 50
    assert session.flagged


def test_a_high_risk_session_ends_only_where_the_exam_allows_it(student, django_capture_on_commit_callbacks):
    allowed = ExamSessionFactory(student=student, exam__security_level="high", exam__auto_terminate=True)
    with django_capture_on_commit_callbacks(execute=True):
        feed(allowed, "identity-mismatch", [True] * 40, cadence=10)  # 6.5 minutes
    allowed.refresh_from_db()
    assert allowed.status == ExamSession.Status.CHEATING_DETECTED
    assert "risk score" in allowed.end_reason
    # With no proctor behind it, the ending is on record as an event of its own, once.
    ending = ProctoringEvent.objects.get(session=allowed, type="cheating-detected")
    assert (ending.severity, ending.source) == ("critical", "server")
    assert ending.details["reason"] == allowed.end_reason
    assert ending.occurred_at == allowed.ended_at
    # ... which does not feed the risk it came from.
    risk_before = allowed.risk_score
    session_risk_update(session=allowed)
    assert allowed.risk_score == risk_before

    kept = ExamSessionFactory(exam__security_level="high", exam__auto_terminate=False)
    with django_capture_on_commit_callbacks(execute=True):
        feed(kept, "identity-mismatch", [True] * 40, cadence=10)
    kept.refresh_from_db()
    assert kept.status == ExamSession.Status.IN_PROGRESS and kept.flagged


def test_a_silent_stream_raises_stream_lost_until_media_returns(world):
    session = world.cat_in_chemistry  # medium security
    # The world's other students send no media either: camera-exempt, so the counts are Cat's.
    ExamSession.objects.exclude(pk=session.pk).update(media_exempt=True)
    ExamSession.objects.filter(pk=session.pk).update(started_at=timezone.now() - timedelta(minutes=2))
    assert stream_heartbeats_check() == 1
    event = ProctoringEvent.objects.get(type="stream-lost")
    assert cache.get(unmonitored_key(session.pk)) is True
    media_received(session_id=session.pk, kind="frame", seq=1, captured_ms=0, payload=webcam_jpeg())
    # Media flows again; the event closes once it has been back for the release time (8 s).
    later = timezone.now() + timedelta(seconds=9)
    assert stream_heartbeats_check(now=later) == 0
    event.refresh_from_db()
    assert event.ended_at is not None
