"""When the frame task re-checks the student's identity (dlib, ~35 ms a look): when the face comes
back after being gone, when the face count changes, and otherwise at the policy's interval.

Real frames of real people through the real pipeline, cache and database. Redis expires the gates
in real time: where a test stands for time passing, it deletes the gate that time would expire,
and says so.
"""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.core.cache import cache

from accounts.identity_service import embedding_encrypt
from accounts.models import User
from proctoring.detections import state_active, state_key
from proctoring.detectors import identity
from proctoring.models import ProctoringEvent
from proctoring.pipeline import frame_analyse
from proctoring.stream_state import (
    IDENTITY_FIRST_RECHECK_SPREAD_SECONDS,
    IDENTITY_RECHECK_MIN_SECONDS,
    frame_metrics_key,
    identity_backoff_key,
    identity_gate_key,
    identity_recent_key,
    identity_streak_key,
    magnified_key,
)
from proctoring.tests import faces
from proctoring.tests.media import webcam_jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def frames() -> dict[str, bytes]:
    people = faces.people()
    return {
        "student": webcam_jpeg(faces.in_view(*people["astronaut"], 0.3)),
        "someone else": webcam_jpeg(faces.in_view(*people["grace hopper"], 0.3)),
        "nobody": webcam_jpeg(faces.cat()),
        "two": webcam_jpeg(faces.side_by_side(people["astronaut"], people["grace hopper"], 0.25, 320, 240)),
        # A small face over her shoulder (a photo on the wall) that only magnified frames find.
        "photo behind": webcam_jpeg(faces.someone_behind(people["astronaut"], people["cameraman"])),
    }


@pytest.fixture(scope="module")
def astronaut_embedding() -> bytes:
    return embedding_encrypt(identity.face_embedding(faces.astronaut()))


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


class Stream:
    """One session's frames, two seconds apart, and how many re-checks they cost."""

    def __init__(self, session, frames: dict[str, bytes]) -> None:
        self.session, self.frames, self.seq = session, frames, 0
        self.start_ms = int(time.time() * 1000) - 600_000

    def send(self, *shows: str) -> None:
        for what in shows:
            self.seq += 1
            captured_ms = self.start_ms + 2000 * self.seq
            frame_analyse(
                session_id=self.session.pk, seq=self.seq, captured_ms=captured_ms, jpeg=self.frames[what]
            )

    def seconds_pass(self) -> None:
        """IDENTITY_RECHECK_MIN_SECONDS later: no re-check ran within them."""
        cache.delete(identity_recent_key(self.session.pk))

    def first_recheck_due(self) -> None:
        """The session's first frames went by, and the first re-check's random moment came."""
        self.send("student")
        self.interval_passes()
        self.send("student")
        assert self.rechecks == 1

    def interval_passes(self) -> None:
        """The policy's re-check interval later."""
        self.seconds_pass()
        cache.delete(identity_gate_key(self.session.pk))

    @property
    def rechecks(self) -> int:
        return cache.get("metrics:identity_rechecks") or 0


@pytest.fixture
def stream(world, frames, astronaut_embedding) -> Stream:
    session = world.stu_in_physics  # high security
    User.objects.filter(pk=session.student_id).update(face_embedding=astronaut_embedding, is_verified=True)
    return Stream(session, frames)


def test_the_face_back_after_a_no_face_spell_is_rechecked_at_once_not_at_the_interval(stream):
    stream.send("student")  # the session's first frame: its first re-check is scheduled
    stream.send("nobody", "nobody", "nobody")
    assert stream.rechecks == 0  # nothing to compare while the face is gone
    stream.seconds_pass()
    stream.send("student")
    assert stream.rechecks == 1
    stream.seconds_pass()
    stream.send("student", "student")  # back and checked: nothing more is due
    assert stream.rechecks == 1


@pytest.mark.needs_redis
def test_a_class_starting_together_spreads_its_first_rechecks_over_the_first_minutes(world, frames):
    """A class starts together: every student's first frames arrive in the same seconds. Each
    first re-check (~130 ms of CPU then) used to run on the first frame, all of them at once."""
    from accounts.tests.factories import UserFactory
    from sessions.tests.factories import ExamSessionFactory

    embedding = embedding_encrypt(identity.face_embedding(faces.astronaut()))
    streams = []
    for _ in range(8):
        student = UserFactory(role="student", face_embedding=embedding, is_verified=True)
        session = ExamSessionFactory(exam=world.physics, student=student, attempt=1)
        streams.append(Stream(session, frames))
    for each in streams:
        each.send("student", "student")
    assert streams[0].rechecks == 0
    due_in = [cache.ttl(identity_gate_key(each.session.pk)) for each in streams]
    assert all(IDENTITY_RECHECK_MIN_SECONDS - 2 <= t <= IDENTITY_FIRST_RECHECK_SPREAD_SECONDS for t in due_in)
    assert len(set(due_in)) > 2, due_in  # not one moment for all (chance of failing: ~1e-12)


def test_a_recheck_looks_for_the_face_only_where_the_frame_s_analysis_found_it(stream, monkeypatch):
    # dlib's search of the whole frame (its HOG pyramid at twice the frame's size, ~20x the pixels
    # of the crop around the face the models found) took a third of a look: the student, and
    # someone swapped in, are both judged without it.
    monkeypatch.setattr(identity, "_the_one_face", lambda rgb: pytest.fail("searched the whole frame"))
    stream.first_recheck_due()
    assert not ProctoringEvent.objects.filter(session=stream.session, type="identity-mismatch").exists()
    stream.send("nobody")
    stream.seconds_pass()
    stream.send("someone else")
    assert stream.rechecks == 2
    assert ProctoringEvent.objects.filter(session=stream.session, type="identity-mismatch").exists()


@pytest.mark.needs_redis  # the gates' expiry (cache.ttl)
def test_a_student_swapped_in_while_the_face_was_gone_is_caught_on_the_first_frame_back(stream):
    stream.send("student", "student", "nobody", "nobody")
    stream.seconds_pass()
    stream.send("someone else")
    event = ProctoringEvent.objects.get(session=stream.session, type="identity-mismatch")
    assert event.severity == "critical"
    assert event.details["frameSeq"] == 5
    # A mismatch is looked at again soon, not an interval later: the alert stays open on him.
    assert cache.ttl(identity_gate_key(stream.session.pk)) <= IDENTITY_RECHECK_MIN_SECONDS
    stream.interval_passes()  # IDENTITY_RECHECK_MIN_SECONDS later
    stream.send("someone else")
    assert stream.rechecks == 2
    assert state_active(cache.get(state_key(stream.session.pk, "identity-mismatch")))
    assert ProctoringEvent.objects.filter(session=stream.session, type="identity-mismatch").count() == 1


def test_a_change_of_face_count_makes_a_recheck_due_when_one_face_is_left(stream):
    stream.send("student")
    stream.seconds_pass()
    stream.send("two", "two")  # two faces: whose identity? multiple-faces speaks for them
    assert stream.rechecks == 0
    stream.send("student")
    assert stream.rechecks == 1
    assert not ProctoringEvent.objects.filter(session=stream.session, type="identity-mismatch").exists()


def test_a_face_flickering_out_of_view_is_rechecked_at_most_once_in_the_minimum_spacing(stream):
    stream.send("student")
    stream.send("nobody", "student", "nobody", "student")  # within IDENTITY_RECHECK_MIN_SECONDS
    assert stream.rechecks == 1
    stream.seconds_pass()
    stream.send("student")  # still due: the spacing delays a return's re-check, never drops it
    assert stream.rechecks == 2


@pytest.mark.needs_redis  # the gates' expiry (cache.ttl)
def test_a_second_face_that_keeps_coming_and_going_is_looked_at_ever_further_apart(stream):
    # A second face every 12 s (one of the pipeline bench's alerting students): a look at each
    # return to one face every 30 s was 120 an hour, each ~116 ms of a worker's CPU then, each matching.
    backoff = identity_backoff_key(stream.session.pk)
    stream.send("student")
    stream.seconds_pass()
    stream.send("two", "student")
    assert stream.rechecks == 1
    spacings = [cache.ttl(backoff)]
    stream.seconds_pass()  # 30 s on, the second face again: within the backoff, the look waits
    stream.send("two", "student", "student")
    assert stream.rechecks == 1
    for expected in (2, 3, 4):
        stream.seconds_pass()
        cache.delete(backoff)  # the backoff ran out: the return still due is looked at now
        stream.send("student")
        assert stream.rechecks == expected
        spacings.append(cache.ttl(backoff))
        stream.send("two", "student")
    # 60 s, then two minutes (the cap, and high security's interval), never more.
    assert [round(t, -1) for t in spacings] == [60, 120, 120, 120], spacings
    # At high security the backoff and the interval run out together: the look then due is still
    # the same second face's return, and the spacing stays at two minutes, not 30 s again.
    stream.interval_passes()
    cache.delete(backoff)
    stream.send("student")
    assert stream.rechecks == 5
    assert round(cache.ttl(backoff), -1) == 120


@pytest.mark.needs_redis  # the gates' expiry (cache.ttl)
def test_a_return_after_a_spell_with_an_empty_seat_is_never_backed_off(stream):
    backoff = identity_backoff_key(stream.session.pk)
    stream.send("student")
    stream.seconds_pass()
    stream.send("two", "student")  # matched: the next return from two faces waits 60 s
    assert cache.ttl(backoff) > 50
    stream.seconds_pass()
    stream.send("two", "nobody", "student")  # two faces, then nobody at all: looked at at once
    assert stream.rechecks == 2
    assert not cache.get(backoff)


@pytest.mark.needs_redis  # the gates' expiry (cache.ttl)
def test_a_swap_after_the_face_was_gone_is_caught_at_once_whatever_the_backoff(stream):
    stream.send("student")
    stream.seconds_pass()
    stream.send("two", "student")  # a second face came and went: matched, backoff started
    assert cache.ttl(identity_backoff_key(stream.session.pk)) > 50
    # ... which holds back only returns from a multi-face spell: any look may come 30 s on.
    assert cache.ttl(identity_recent_key(stream.session.pk)) <= IDENTITY_RECHECK_MIN_SECONDS
    stream.seconds_pass()
    stream.send("nobody", "nobody", "someone else")  # the seat empty, then someone else
    assert stream.rechecks == 2
    assert ProctoringEvent.objects.filter(session=stream.session, type="identity-mismatch").exists()
    # The mismatch starts over: the next second face's return is looked at without backoff.
    assert not cache.get(identity_streak_key(stream.session.pk))
    assert not cache.get(identity_backoff_key(stream.session.pk))


@pytest.mark.needs_redis  # the gates' expiry (cache.ttl)
def test_a_face_that_stays_in_view_is_rechecked_at_the_policy_interval_and_not_within_it(stream):
    stream.first_recheck_due()
    interval = settings.PROCTORING_POLICY["high"]["identity_recheck_seconds"]
    assert interval == 120
    assert interval - 5 < cache.ttl(identity_gate_key(stream.session.pk)) <= interval
    for _ in range(3):
        stream.seconds_pass()
        stream.send("student", "student")
    assert stream.rechecks == 1
    stream.interval_passes()
    stream.send("student")
    assert stream.rechecks == 2


def test_a_recheck_beside_a_small_face_behind_searches_the_whole_frame(stream, monkeypatch):
    # A magnified frame's faces are the student's and the small one behind: the boxes do not say
    # whose is whose (the one behind may be larger: someone close behind the student), so dlib
    # looks over the whole frame there, as it always did; on a frame of one face, near its box.
    looked = []
    embed = identity.face_embedding
    monkeypatch.setattr(
        identity, "face_embedding", lambda rgb, near=None: looked.append(near) or embed(rgb, near=near)
    )
    stream.first_recheck_due()
    assert len(looked) == 1 and looked[0] is not None
    stream.interval_passes()
    cache.delete(magnified_key(stream.session.pk))
    stream.send("photo behind")  # magnified: the student and the small face
    assert stream.rechecks == 2
    assert looked[1] is None
    assert not ProctoringEvent.objects.filter(session=stream.session, type="identity-mismatch").exists()


def test_a_held_face_only_magnified_frames_find_does_not_stop_the_periodic_recheck(stream):
    # The pipeline holds the small face a magnified frame found on the light frames after it
    # (multiple-faces, the count shown): a photo on the wall reads 2 on every frame. The student
    # in front of it was never re-checked, since the re-check waited for a frame of one face.
    # It now asks how many faces the frame itself sees beside the student: one.
    stream.first_recheck_due()
    cache.delete(magnified_key(stream.session.pk))
    stream.send("photo behind")  # magnified: the student and the small face
    assert cache.get(frame_metrics_key(stream.session.pk))["faceCount"] == 2
    assert stream.rechecks == 1
    for _ in range(3):
        stream.seconds_pass()
        stream.send("photo behind", "photo behind")  # light frames: the face is held, still 2
        assert cache.get(frame_metrics_key(stream.session.pk))["faceCount"] == 2
    assert stream.rechecks == 1  # the same face, within the interval: nothing is due
    stream.interval_passes()
    cache.delete(magnified_key(stream.session.pk))  # and a magnified frame is due again
    stream.send("photo behind", "photo behind")
    assert stream.rechecks == 2
    assert not ProctoringEvent.objects.filter(session=stream.session, type="identity-mismatch").exists()
