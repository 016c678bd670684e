"""The frame task's decisions, run in this process against the test's cache and database."""

from __future__ import annotations

import base64
import dataclasses
import time

import pytest
from django.core.cache import cache

from proctoring import stream_state, tasks
from proctoring.detections import state_active, state_key
from proctoring.models import ProctoringEvent
from proctoring.pipeline import frame_analyse
from proctoring.stream_state import MAGNIFY_SECONDS, done_key, frame_metrics_key, magnified_key
from proctoring.tests import faces
from proctoring.tests.media import webcam_jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_a_small_face_behind_the_student_is_judged_on_magnified_frames_only(world):
    session = world.stu_in_physics  # high security: 2 s onsets
    people = faces.people()
    jpeg = webcam_jpeg(faces.someone_behind(people["grace hopper"], people["cameraman"]))
    start_ms = int(time.time() * 1000) - 30_000

    def frame(seq: int, at_s: float) -> None:
        frame_analyse(session_id=session.pk, seq=seq, captured_ms=start_ms + int(at_s * 1000), jpeg=jpeg)

    frame(1, 0)  # magnified: two faces, the 2 s onset starts
    frame(2, 2)  # not magnified: one face says nothing about him, the onset goes on
    frame(3, 4)
    assert not ProctoringEvent.objects.filter(session=session).exists()
    cache.delete(magnified_key(session.pk))  # MAGNIFY_SECONDS later
    frame(4, MAGNIFY_SECONDS)  # magnified again: still two faces, 6 s after the first sighting
    event = ProctoringEvent.objects.get(session=session)
    assert event.type == "multiple-faces"
    assert event.details["faceCount"] == 2
    assert (event.ended_at - event.occurred_at).total_seconds() == pytest.approx(MAGNIFY_SECONDS, abs=0.01)
    assert cache.get("metrics:frames_magnified") == 2


def test_a_still_picture_of_two_people_shows_two_faces_on_every_frame_not_two_then_one(world):
    # The walk-through's flicker: only the magnified search (every MAGNIFY_SECONDS) sees the
    # small face behind the student, so the card, the monitors and the timeline said 2, 1, 1, 2
    # while the multiple-faces condition rightly held on. They now say what the condition sees.
    from proctoring.models import MediaSample
    from proctoring.stream_state import frame_metrics_key

    session = world.stu_in_physics
    people = faces.people()
    jpeg = webcam_jpeg(faces.someone_behind(people["grace hopper"], people["cameraman"]))
    start_ms = int(time.time() * 1000) - 30_000
    shown = []
    for seq, at_s in enumerate((0, 2, 4, MAGNIFY_SECONDS, MAGNIFY_SECONDS + 2), start=1):
        if at_s == MAGNIFY_SECONDS:
            cache.delete(magnified_key(session.pk))  # MAGNIFY_SECONDS later
        frame_analyse(session_id=session.pk, seq=seq, captured_ms=start_ms + int(at_s * 1000), jpeg=jpeg)
        shown.append(cache.get(frame_metrics_key(session.pk))["faceCount"])
    assert shown == [2, 2, 2, 2, 2]
    assert list(MediaSample.objects.filter(session=session).values_list("face_count", flat=True)) == [2]
    event = ProctoringEvent.objects.get(session=session, type="multiple-faces")
    assert event.details["faceCount"] == 2


def test_a_second_person_the_whole_frame_shows_is_judged_on_every_frame(world):
    session = world.stu_in_physics  # high security: 2 s onsets
    people = faces.people()
    pair = webcam_jpeg(faces.side_by_side(people["astronaut"], people["grace hopper"], 0.18, 320, 240))
    alone = webcam_jpeg(faces.in_view(*people["astronaut"], 0.3))
    start_ms = int(time.time() * 1000) - 30_000

    def frame(seq: int, at_s: float, jpeg: bytes) -> None:
        frame_analyse(session_id=session.pk, seq=seq, captured_ms=start_ms + int(at_s * 1000), jpeg=jpeg)

    frame(1, 0, pair)  # magnified (the first frame), two faces anyway
    frame(2, 2, pair)  # two faces: the 2 s onset is met
    event = ProctoringEvent.objects.get(session=session, type="multiple-faces")
    for seq, at_s in ((3, 4), (4, 6), (5, 8)):  # alone again, without the magnified search
        frame(seq, at_s, alone)
    # Released 6 s after the last sighting: the event lasted from 0 to 2 s, not until a
    # magnified frame happened to look again.
    event.refresh_from_db()
    assert (event.ended_at - event.occurred_at).total_seconds() == pytest.approx(2, abs=0.01)
    assert not state_active(cache.get(state_key(session.pk, "multiple-faces")))


def test_on_the_lean_path_a_light_frame_never_clears_a_face_only_heavy_frames_find(world, settings):
    # Grace Hopper and, letterboxed into 640x480, the astronaut 10% of the width: only the
    # full-range model finds him, and light frames run it only when no face was found.
    settings.FRAME_PATH = "lite"
    session = world.stu_in_physics  # high security: 2 s onsets
    jpeg = webcam_jpeg(faces.webcam_frame(faces.two_people(), 640, 480), size=(640, 480))
    start_ms = int(time.time() * 1000) - 30_000
    shown = []
    for seq, at_s in enumerate((0, 2, 4, MAGNIFY_SECONDS), start=1):  # heavy, light, light, heavy
        if at_s == MAGNIFY_SECONDS:
            cache.delete(magnified_key(session.pk))  # MAGNIFY_SECONDS later
        frame_analyse(session_id=session.pk, seq=seq, captured_ms=start_ms + int(at_s * 1000), jpeg=jpeg)
        shown.append(cache.get(frame_metrics_key(session.pk))["faceCount"])
    # The light frames said nothing about him (they could not have seen him): the onset went on.
    assert shown == [2, 2, 2, 2]
    event = ProctoringEvent.objects.get(session=session, type="multiple-faces")
    assert event.details["faceCount"] == 2
    assert (event.ended_at - event.occurred_at).total_seconds() == pytest.approx(MAGNIFY_SECONDS, abs=0.01)
    assert state_active(cache.get(state_key(session.pk, "multiple-faces")))


@pytest.mark.parametrize("path", ["lite", "mediapipe"])
@pytest.mark.parametrize(
    ("width", "height", "condition"),
    [
        (2000, 2, "face-not-visible"),
        (2, 2000, "camera-blocked"),
        (640, 1, "face-not-visible"),
        (1, 480, "camera-blocked"),
        (1, 2000, "camera-blocked"),
    ],
)
def test_a_frame_of_extreme_proportions_is_a_faceless_frame_not_a_dead_task(
    world, settings, path: str, width: int, height: int, condition: str
):
    # A modified page can send 2000x2: shrunk to the working size it had no pixels on a side,
    # cv2.resize raised (on the lean path for all of these, on MediaPipe's for 1x2000), and the
    # task died on every frame, so camera proctoring was off. It is now a frame without a face,
    # as MediaPipe's path always took 2000x2 to be, through the Celery task as a worker runs it.
    settings.FRAME_PATH = path
    session = world.stu_in_physics  # high security: onsets 6 s (no face), 4 s (blocked)
    jpeg = base64.b64encode(webcam_jpeg(size=(width, height))).decode()
    start_ms = int(time.time() * 1000) - 30_000
    for seq, at_s in enumerate((0, 2, 4, 6, 8), start=1):
        assert tasks.frame_analyse(str(session.pk), seq, start_ms + at_s * 1000, jpeg) == "done"
        assert cache.get(done_key(session.pk, "frame", seq))  # not redelivered
    assert set(ProctoringEvent.objects.filter(session=session).values_list("type", flat=True)) == {condition}
    assert cache.get(frame_metrics_key(session.pk))["faceCount"] == 0


def test_a_frame_that_fails_unexpectedly_stops_no_other_frame_of_its_batch(world, monkeypatch, caplog):
    # A batch carries several students' frames (proctoring.frame_batches): one student's frame
    # hitting a bug must not cost the others theirs; the task still fails, so the failure shows.
    from proctoring import pipeline

    stu, sam, cat = world.stu_in_physics, world.sam_in_physics, world.cat_in_chemistry
    analyse = pipeline.frame_analyse

    def failing_for_sam(**frame):
        if frame["session_id"] == str(sam.pk):
            raise RuntimeError("a bug")
        return analyse(**frame)

    monkeypatch.setattr(pipeline, "frame_analyse", failing_for_sam)
    jpeg = base64.b64encode(webcam_jpeg()).decode()
    now_ms = int(time.time() * 1000)
    with pytest.raises(RuntimeError, match="a bug"):
        tasks.frames_analyse([[str(s.pk), 1, now_ms, jpeg, None] for s in (stu, sam, cat)])
    assert [bool(cache.get(done_key(s.pk, "frame", 1))) for s in (stu, sam, cat)] == [True, False, True]
    assert f"session {sam.pk} frame 1 failed" in caplog.text


@pytest.mark.needs_redis  # the gate's expiry (cache.ttl)
def test_a_slowed_session_gets_the_magnified_search_every_third_picture_not_every_one(world):
    from proctoring.stream_state import cadence_key

    session, fast = world.stu_in_physics, world.sam_in_physics  # high security: a picture every 2 s
    cache.set(cadence_key(session.pk), 8_000, 120)  # the overload governor: every fourth cadence
    jpeg = webcam_jpeg(faces.in_view(*faces.people()["astronaut"], 0.3))
    now_ms = int(time.time() * 1000)
    for each in (session, fast):
        frame_analyse(session_id=each.pk, seq=1, captured_ms=now_ms, jpeg=jpeg)
    assert cache.get("metrics:frames_magnified") == 2
    # Pictures 8 s apart: the next search on the third after this one (24 s), not on every one.
    assert 18 < cache.ttl(magnified_key(session.pk)) <= 19
    assert MAGNIFY_SECONDS - 1 < cache.ttl(magnified_key(fast.pk)) <= MAGNIFY_SECONDS


def _at_the_laptop(seed: int, rgb=None) -> bytes:
    """The astronaut at a laptop (or `rgb`), one picture of it as a camera sends it."""
    scene = faces.in_view(*faces.people()["astronaut"], 0.3) if rgb is None else rgb
    return faces.camera_jpeg(scene, seed)


class _Student:
    """Sends frames as a camera would and notes which ones the models analysed (and how)."""

    def __init__(self, session, monkeypatch) -> None:
        from proctoring.detectors.lite import frames

        self.session, self.start_ms, self.seq = session, int(time.time() * 1000) - 30_000, 0
        self.ran: list[int] = []
        self.magnified: list[int] = []
        analyse = frames.analyse_frame

        def analysed(rgb, **kw):
            self.ran.append(self.seq)
            if kw.get("magnify"):
                self.magnified.append(self.seq)
            return analyse(rgb, **kw)

        monkeypatch.setattr(frames, "analyse_frame", analysed)

    def send(self, seq: int, at_s: float, jpeg: bytes) -> None:
        self.seq = seq
        frame_analyse(
            session_id=self.session.pk, seq=seq, captured_ms=self.start_ms + int(at_s * 1000), jpeg=jpeg
        )


def test_a_student_sitting_still_has_two_pictures_in_three_answered_by_the_last_one(world, monkeypatch):
    session = world.stu_in_physics  # high security: a picture every 2 s
    student = _Student(session, monkeypatch)
    shown = []
    for seq in range(1, 8):
        student.send(seq, 2 * seq, _at_the_laptop(seq))
        shown.append(cache.get(frame_metrics_key(session.pk))["faceCount"])
    # The first (magnified), then every third: never more than two in a row reuse an analysis.
    assert student.ran == [1, 4, 7] and cache.get("metrics:frames_still") == 4
    assert shown == [1] * 7
    assert cache.get("metrics:frames_analysed") == 7
    assert not ProctoringEvent.objects.filter(session=session).exists()


def test_an_analysis_is_reused_by_two_frames_at_most_however_close_they_come(world, monkeypatch):
    student = _Student(world.stu_in_physics, monkeypatch)
    for seq in range(1, 5):
        student.send(seq, 0.5 * seq, _at_the_laptop(seq))
    assert student.ran == [1, 4]


def test_a_second_person_sitting_down_is_analysed_at_once_not_after_the_still_pictures(world, monkeypatch):
    session = world.stu_in_physics  # high security: 2 s onsets
    people = faces.people()
    pair = faces.side_by_side(people["astronaut"], people["grace hopper"], 0.18, 320, 240)
    student = _Student(session, monkeypatch)
    pictures = [_at_the_laptop(1), _at_the_laptop(2), _at_the_laptop(3, pair), _at_the_laptop(4, pair)]
    for seq, jpeg in enumerate(pictures, start=1):
        student.send(seq, 2 * seq, jpeg)
    assert student.ran == [1, 3, 4]  # the second picture only was answered by the first
    event = ProctoringEvent.objects.get(session=session, type="multiple-faces")
    assert event.details["frameSeq"] == 4  # seen on 3 and 4: the 2 s onset, as without the gate


def test_after_anything_was_seen_the_same_scene_is_analysed_again(world, monkeypatch):
    from proctoring.detectors.lite import frames

    photo, face = faces.people()["astronaut"]
    student = _Student(world.stu_in_physics, monkeypatch)
    student.send(1, 0, _at_the_laptop(1))
    # The second picture is analysed (another picture) and found looking away; the third, like
    # the first and within its 4.5 s, must not be answered by the first: something was seen since.
    analyse = frames.analyse_frame
    with monkeypatch.context() as patched:
        patched.setattr(
            frames,
            "analyse_frame",
            lambda rgb, **kw: dataclasses.replace(analyse(rgb, **kw), looking_away=True),
        )
        student.send(2, 2, _at_the_laptop(2, faces.in_view(faces.turned(photo, 40), face, 0.3)))
    student.send(3, 4, _at_the_laptop(3))
    assert student.ran == [1, 2, 3]


def test_an_older_calm_frame_written_late_does_not_bring_back_a_scene_a_newer_one_ended(world, monkeypatch):
    # Two workers on one student's frames: frame 2 (calm) reads the cache, frame 3 (looking
    # away) is analysed and written in the meantime, then frame 2 writes. Its scene must not
    # come back: frame 4, like frame 2 and close to it, is analysed, not answered by frame 2.
    from proctoring.detectors.lite import frames

    photo, face = faces.people()["astronaut"]
    closer = faces.in_view(photo, face, 0.36)  # another picture than frame 1's: analysed
    session = world.stu_in_physics
    student = _Student(session, monkeypatch)
    student.send(1, 0, _at_the_laptop(1))
    analyse, read = frames.analyse_frame, cache.get_many

    def newer_frame_meanwhile() -> None:
        with monkeypatch.context() as patched:
            patched.setattr(
                frames,
                "analyse_frame",
                lambda rgb, **kw: dataclasses.replace(analyse(rgb, **kw), looking_away=True),
            )
            student.send(3, 3, _at_the_laptop(3, closer))
        student.seq = 2

    pending = [newer_frame_meanwhile]

    def get_many(keys, *args, **kwargs):
        known = read(keys, *args, **kwargs)
        if pending and done_key(session.pk, "frame", 2) in keys:
            pending.pop()()
        return known

    monkeypatch.setattr(cache, "get_many", get_many)
    student.send(2, 2, _at_the_laptop(2, closer))
    assert student.ran == [1, 3, 2]
    assert cache.get(stream_state.still_key(session.pk))["seq"] == 3
    student.send(4, 4, _at_the_laptop(4, closer))
    assert student.ran == [1, 3, 2, 4]


def test_a_frame_is_not_answered_by_a_scene_the_frame_before_it_is_about_to_end(world, monkeypatch):
    # Two workers the other way round: frame 3, like frame 1, reads the cache while frame 2
    # (looking away) is still being analysed. Frame 2 will end frame 1's scene: frame 3 must
    # not be answered by it, but analysed.
    from proctoring.detectors.lite import frames

    photo, face = faces.people()["astronaut"]
    session = world.stu_in_physics
    student = _Student(session, monkeypatch)
    student.send(1, 0, _at_the_laptop(1))
    recorded, read = frames.analyse_frame, cache.get_many  # the student's own record of runs
    pending = [lambda: student.send(3, 2.5, _at_the_laptop(3))]

    def frame_2_looks_away(rgb, **kw):
        analysis = recorded(rgb, **kw)
        return dataclasses.replace(analysis, looking_away=True) if student.seq == 2 else analysis

    def get_many(keys, *args, **kwargs):
        known = read(keys, *args, **kwargs)
        if pending and done_key(session.pk, "frame", 2) in keys:
            pending.pop()()
            student.seq = 2
        return known

    monkeypatch.setattr(cache, "get_many", get_many)
    monkeypatch.setattr(frames, "analyse_frame", frame_2_looks_away)
    student.send(2, 2, _at_the_laptop(2, faces.in_view(faces.turned(photo, 40), face, 0.3)))
    assert student.ran == [1, 3, 2]
    # Frame 3, the newest, was calm: its scene stays; frame 2's end of it came after, and older.
    scene = cache.get(stream_state.still_key(session.pk))
    assert scene["seq"] == 3 and "analysis" in scene


def test_an_unreadable_frame_ends_the_scene_before_it_is_done(world, monkeypatch):
    # The next frame is answered once this one is done: by then this one must have ended the
    # scene, or a frame before it still being analysed could have the next frame answered by a
    # scene it is about to end.
    session = world.stu_in_physics
    student = _Student(session, monkeypatch)
    student.send(1, 0, _at_the_laptop(1))
    assert "analysis" in cache.get(stream_state.still_key(session.pk))
    student.send(2, 2, b"\xff\xd8 not a picture \xff\xd9")
    assert cache.get(done_key(session.pk, "frame", 2))
    assert cache.get(stream_state.still_key(session.pk)) == {"v": 1, "cleared": True, "seq": 2}
    student.send(3, 4, _at_the_laptop(3))
    assert student.ran == [1, 3]


def test_a_frame_after_a_stale_dropped_one_may_still_be_answered(world, monkeypatch):
    # Under overload frames wait; a stale one is dropped. It is done (it will never end the
    # scene), so the next frame can be answered by the gate, when the gate saves most.
    session = world.stu_in_physics
    student = _Student(session, monkeypatch)
    student.send(1, 0, _at_the_laptop(1))
    cache.set(stream_state.latest_frame_key(session.pk), 3, 60)  # frame 3 came while 2 waited
    student.send(2, 2, _at_the_laptop(2))  # captured 28 s ago: stale
    assert cache.get(done_key(session.pk, "frame", 2))
    student.send(3, 4, _at_the_laptop(3))
    assert student.ran == [1] and cache.get("metrics:frames_dropped") == 1
    assert cache.get("metrics:frames_still") == 1


def test_a_magnified_frame_is_never_answered_by_a_light_one(world, monkeypatch):
    session = world.stu_in_physics
    student = _Student(session, monkeypatch)
    student.send(1, 0, _at_the_laptop(1))
    cache.delete(magnified_key(session.pk))  # MAGNIFY_SECONDS later, as far as the gate knows
    student.send(2, 2, _at_the_laptop(2))
    assert student.magnified == [1, 2]


@pytest.mark.parametrize(
    "entry",
    [
        {"v": 0, "seq": 1, "at": 0},
        {"v": 1, "seq": "1"},
        {"v": 1, "seq": 1, "at": 0, "thumbnail": b"x"},  # a thumbnail of another size
        {"v": 1, "seq": 1, "at": 0, "thumbnail": "the frame's own"},  # and no analysis
        "garbage",
    ],
)
def test_a_scene_entry_this_release_does_not_read_is_analysed_not_a_failed_frame(world, monkeypatch, entry):
    session = world.stu_in_physics
    student = _Student(session, monkeypatch)
    if isinstance(entry, dict) and "at" in entry:
        entry = {**entry, "at": student.start_ms}  # close in time: its shape is what is wrong
    if isinstance(entry, dict) and entry.get("thumbnail") == "the frame's own":
        from proctoring.detectors import still
        from proctoring.detectors.lite import frames

        entry["thumbnail"] = still.thumbnail(frames.decode_jpeg(_at_the_laptop(2)))
    cache.set(stream_state.still_key(session.pk), entry, 30)
    cache.set(magnified_key(session.pk), 1, 30)
    student.send(2, 1, _at_the_laptop(2))
    assert student.ran == [2]
    assert cache.get(done_key(session.pk, "frame", 2))


@pytest.mark.parametrize(
    ("what", "second_seq", "second_at_s"),
    [
        ("a picture a session slowed to 8 s sends", 2, 8),
        ("a late picture, older than the one analysed", 0, 2),
        ("the same picture delivered twice", 1, 0),
    ],
)
def test_the_last_picture_answers_only_the_next_ones_close_in_time(
    world, monkeypatch, what, second_seq, second_at_s
):
    session = world.stu_in_physics
    student = _Student(session, monkeypatch)
    student.send(1, 0, _at_the_laptop(1))
    cache.delete(done_key(session.pk, "frame", 1))  # delivered again after a worker died
    student.send(second_seq, second_at_s, _at_the_laptop(2))
    assert student.ran == [1, second_seq], what
    assert not cache.get("metrics:frames_still")


def test_with_the_gate_off_every_picture_is_analysed(world, monkeypatch, settings):
    settings.STILL_FRAME_THRESHOLD = 0
    student = _Student(world.stu_in_physics, monkeypatch)
    for seq in range(1, 5):
        student.send(seq, 2 * seq, _at_the_laptop(seq))
    assert student.ran == [1, 2, 3, 4]
    assert not cache.get("metrics:frames_still")
