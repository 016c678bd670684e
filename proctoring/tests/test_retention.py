"""The retention job (proctoring.retention, beat task media_retention_apply): each kind of data
goes exactly when its period since the session's end has passed, from local disk and from the S3
bucket; sessions under review or not yet graded keep everything; an exam's own period wins."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import IdentityVerification
from exams.services import exam_delete
from exams.tests.factories import ExamFactory
from procto.celery import app as celery_app
from proctoring import actions, retention, tasks
from proctoring.models import MediaSample, ProctoringEvent
from proctoring.tests.recorded import WEBM, record, verify_identity
from sessions.models import Answer, ExamSession, IdentityCheck, PreExamRoomScan
from sessions.room_scan import pre_exam_room_scan_chunk_add

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1).total_seconds()
# Distinct periods, so each step of the clock deletes one kind only.
PERIODS = {"frames": 10, "screenshots": 15, "audio": 20, "room_scans": 30, "identity": 40, "answers": 50}


@pytest.fixture
def periods(settings):
    settings.DATA_RETENTION_DAYS = dict(PERIODS)
    return PERIODS


def run_job() -> dict[str, int]:
    """What beat runs, in this process."""
    return tasks.media_retention_apply()


def held(session: ExamSession) -> dict:
    """What the session still holds, by kind."""
    events = ProctoringEvent.objects.filter(session=session)
    samples = MediaSample.objects.filter(session=session)
    session.refresh_from_db()
    return {
        "snapshots": events.exclude(snapshot="").count(),
        "frame_samples": samples.filter(kind="frame").count(),
        "audio_samples": samples.filter(kind="audio").count(),
        "room_scan": bool(session.room_scan),
        "identity_checks": IdentityCheck.objects.filter(user=session.student, exam=session.exam).count(),
        "answers": Answer.objects.filter(session=session).count(),
    }


EVERYTHING = {
    "snapshots": 2,
    "frame_samples": 2,
    "audio_samples": 2,
    "room_scan": True,
    "identity_checks": 1,
    "answers": 1,
}
NOTHING = {
    "snapshots": 0,
    "frame_samples": 0,
    "audio_samples": 0,
    "room_scan": False,
    "identity_checks": 0,
    "answers": 0,
}


def test_each_kind_goes_when_its_period_since_the_session_end_has_passed(
    world, storage_backend, periods, clock
):
    stu = record(world.stu_in_physics)
    sam = record(world.sam_in_physics, end=False)  # still sitting the exam: never touched
    stored = set(storage_backend.names())
    assert stored == set(stu.files) | set(sam.files)

    clock.shift(10 * DAY - 1)
    assert run_job() == {}
    assert held(stu.session) == EVERYTHING
    assert set(storage_backend.names()) == stored

    steps = [
        (10, {"snapshots": 0, "frame_samples": 0}, stu.snapshots),
        (20, {"audio_samples": 0}, []),
        (30, {"room_scan": False}, [stu.room_scan]),
        (40, {"identity_checks": 0}, [stu.identity_capture]),
        (50, {"answers": 0}, []),
    ]
    expected, gone = dict(EVERYTHING), set()
    for days, deleted_now, files in steps:
        clock.shift(1)  # exactly `days` after the end
        assert run_job(), f"nothing deleted at day {days}"
        expected |= deleted_now
        gone |= set(files)
        assert held(stu.session) == expected, f"day {days}"
        assert set(storage_backend.names()) == stored - gone, f"day {days}"
        assert run_job() == {}  # and nothing more until the next period
        clock.shift(10 * DAY - 1)

    assert held(stu.session) == NOTHING
    # What stays: the attempt, its score and its alerts (type, time, review), without pictures.
    assert (stu.session.status, stu.session.final_score) == ("submitted", 2)
    assert ProctoringEvent.objects.filter(session=stu.session).count() == 3
    assert held(sam.session) == EVERYTHING
    assert set(storage_backend.names()) == set(sam.files)


def test_a_room_scan_recorded_before_an_exam_and_never_used_goes_once_it_can_open_it_no_more(
    world, storage_backend, clock, django_capture_on_commit_callbacks
):
    # Stu finished a scan, Sam stopped half-way; neither started the exam.
    with django_capture_on_commit_callbacks(execute=True):
        done = pre_exam_room_scan_chunk_add(
            exam=world.physics, student=world.stu, index=0, data=WEBM, final=True, recording_id="r1"
        )
        half = pre_exam_room_scan_chunk_add(
            exam=world.physics, student=world.sam, index=0, data=WEBM, final=False, recording_id="r2"
        )
    assert set(storage_backend.names()) == {done.video, *half.chunks}

    clock.shift(retention.UNUSED_ROOM_SCAN_KEPT.total_seconds() - 1)
    assert run_job() == {}
    clock.shift(1)
    assert run_job() == {"room_scans": 1, "room_scan_chunks": 1}
    assert storage_backend.names() == []
    assert not PreExamRoomScan.objects.exists()


def test_an_exam_deleted_before_anyone_sat_it_takes_its_room_scan_videos_with_it(
    world, storage_backend, django_capture_on_commit_callbacks
):
    # Stu finished a scan for the physics retake, Sam stopped half-way; then the teacher deleted
    # the retake. The rows went with the exam and the files stayed, with no row left to find them.
    retake = ExamFactory(created_by=world.tess, course=world.physics.course, security_level="high")
    with django_capture_on_commit_callbacks(execute=True):
        done = pre_exam_room_scan_chunk_add(
            exam=retake, student=world.stu, index=0, data=WEBM, final=True, recording_id="r1"
        )
        half = pre_exam_room_scan_chunk_add(
            exam=retake, student=world.sam, index=0, data=WEBM, final=False, recording_id="r2"
        )
    assert set(storage_backend.names()) == {done.video, *half.chunks}
    with django_capture_on_commit_callbacks(execute=True):
        exam_delete(exam=retake)
    assert not PreExamRoomScan.objects.exists()
    assert storage_backend.names() == []


@pytest.mark.parametrize(
    "hold",
    [
        pytest.param({"flagged": True}, id="flagged-with-open-alerts"),
        pytest.param({"grading": ExamSession.Grading.PENDING}, id="result-not-final"),
    ],
)
def test_a_session_under_review_or_not_graded_keeps_everything_past_its_periods(
    world, local_storage, periods, clock, hold
):
    stu = record(world.stu_in_physics)
    ExamSession.objects.filter(pk=stu.session.pk).update(**hold)
    clock.shift(100 * DAY)

    assert run_job() == {}
    assert held(stu.session) == EVERYTHING
    assert local_storage.names() == stu.files


def test_reviewing_the_last_open_alert_lets_the_next_run_delete(world, local_storage, periods, clock):
    stu = record(world.stu_in_physics)
    ExamSession.objects.filter(pk=stu.session.pk).update(flagged=True)
    clock.shift(100 * DAY)
    first, second, third = stu.events
    actions.event_review(actor=world.pat, event_id=first.pk, status="confirmed", reason="a second face")
    actions.event_review(actor=world.pat, event_id=second.pk, status="dismissed")
    ExamSession.objects.filter(pk=stu.session.pk).update(flagged=True)  # still flagged, one alert open
    assert run_job() == {}

    actions.event_review(actor=world.pat, event_id=third.pk, status="dismissed")
    ExamSession.objects.filter(pk=stu.session.pk).update(flagged=True)  # flagged, nothing open
    assert run_job()
    assert held(stu.session) == NOTHING
    assert local_storage.names() == []


def test_a_session_with_open_alerts_that_is_not_flagged_is_not_held(world, local_storage, periods, clock):
    # Every event starts open; only a flag asks a proctor to look.
    stu = record(world.stu_in_physics)
    assert ProctoringEvent.objects.filter(session=stu.session, review_status="open").count() == 3
    assert not stu.session.flagged
    clock.shift(100 * DAY)
    run_job()
    assert held(stu.session) == NOTHING


def test_an_exam_s_own_period_overrides_the_site_s_both_ways(world, local_storage, periods, clock):
    world.physics.retention_frames_days = 2  # shorter than the site's 10
    world.physics.retention_audio_days = 25  # longer than the site's 20
    world.physics.save()
    stu = record(world.stu_in_physics)
    cat = record(world.cat_in_chemistry)  # chemistry keeps the site's periods

    clock.shift(2 * DAY)
    run_job()
    assert (held(stu.session)["snapshots"], held(cat.session)["snapshots"]) == (0, 2)
    assert not set(stu.snapshots) & set(local_storage.names())
    assert set(cat.snapshots) <= set(local_storage.names())

    clock.shift(18 * DAY)  # day 20
    run_job()
    assert (held(stu.session)["audio_samples"], held(cat.session)["audio_samples"]) == (2, 0)
    clock.shift(5 * DAY)  # day 25
    run_job()
    assert held(stu.session)["audio_samples"] == 0


def test_an_exam_period_of_zero_deletes_at_the_first_run_after_the_session_ends(
    world, local_storage, periods
):
    world.physics.retention_room_scans_days = 0
    world.physics.save()
    stu = record(world.stu_in_physics)
    run_job()
    assert held(stu.session)["room_scan"] is False
    assert stu.room_scan not in local_storage.names()


def test_an_identity_check_waits_for_the_end_of_the_students_last_attempt(
    world, local_storage, periods, clock
):
    stu = record(world.stu_in_physics)
    clock.shift(35 * DAY)
    # A second attempt at the same exam, five weeks later, admitted by the same identity check.
    second = ExamSession.objects.create(
        student=world.stu,
        exam=world.physics,
        attempt=2,
        started_at=stu.session.started_at + timedelta(days=35),
        deadline=stu.session.deadline + timedelta(days=35),
    )
    ExamSession.objects.filter(pk=second.pk).update(
        status="submitted", ended_at=second.started_at + timedelta(hours=1), grading="complete"
    )
    clock.shift(5 * DAY)  # 40 days after the first attempt, 5 after the second
    run_job()
    assert IdentityCheck.objects.filter(user=world.stu).count() == 1
    assert stu.identity_capture in local_storage.names()

    clock.shift(35 * DAY + 3600)  # 40 days after the second attempt ended
    run_job()
    assert IdentityCheck.objects.filter(user=world.stu).count() == 0
    assert stu.identity_capture not in local_storage.names()


def test_old_verifications_lose_their_images_but_the_current_photo_and_id_card_stay(
    world, storage_backend, periods, clock
):
    first = verify_identity(world.stu)
    clock.shift(5 * DAY)
    second = verify_identity(world.stu)  # new photo and ID card: the account's from now on
    pending = verify_identity(world.sam, review=IdentityVerification.Review.PENDING)

    clock.shift(35 * DAY)  # first: 40 days old
    run_job()
    first_names = [first.photo, first.id_card, first.live_capture]
    second_names = [second.photo, second.id_card, second.live_capture]
    assert not set(first_names) & set(storage_backend.names())
    assert set(second_names) <= set(storage_backend.names())
    first.refresh_from_db()
    assert (first.photo, first.id_card, first.live_capture, first.outcome) == ("", "", "", "match")

    clock.shift(100 * DAY)  # second is old too, but its photo and ID card are the account's
    run_job()
    world.stu.refresh_from_db()
    assert set(storage_backend.names()) == {
        world.stu.photo,
        world.stu.id_card,
        pending.photo,
        pending.id_card,
        pending.live_capture,
    }
    assert (world.stu.photo, world.stu.id_card) == (second.photo, second.id_card)
    assert world.stu.is_verified


def test_a_run_goes_on_batch_after_batch_until_nothing_is_due(
    world, local_storage, periods, clock, monkeypatch
):
    monkeypatch.setattr(retention, "BATCH", 1)
    sessions = [record(world.stu_in_physics), record(world.sam_in_physics), record(world.cat_in_chemistry)]
    clock.shift(100 * DAY)
    deleted = run_job()
    assert deleted["snapshots"] == 6 and deleted["answers"] == 3 and deleted["room_scans"] == 3
    assert all(held(s.session) == NOTHING for s in sessions)
    assert local_storage.names() == []


def test_a_run_out_of_time_stops_and_the_next_goes_on(world, local_storage, periods, clock, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 1)
    stu, sam = record(world.stu_in_physics), record(world.sam_in_physics)
    clock.shift(100 * DAY)
    deleted = retention.media_retention_apply(time_budget=-1)  # out of time from the start
    assert deleted == {}
    assert run_job()
    assert held(stu.session) == held(sam.session) == NOTHING


def test_beat_runs_the_retention_task_every_hour(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["media-retention"]
    assert entry["task"] == tasks.media_retention_apply.name == "proctoring.tasks.media_retention_apply"
    assert entry["task"] in celery_app.tasks
    assert entry["schedule"] <= 3600


def test_the_command_applies_the_periods_where_no_beat_runs(world, local_storage, periods, clock):
    stu = record(world.stu_in_physics)
    clock.shift(100 * DAY)
    out = StringIO()
    call_command("media_retention_apply", stdout=out)
    assert json.loads(out.getvalue())["snapshots"] == 2
    assert held(stu.session) == NOTHING
