"""The rules of taking an exam, enforced by the server whatever the client does."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from exams.errors import IdentityNotVerified
from exams.models import Accommodation
from sessions import services
from sessions.errors import (
    DeadlinePassed,
    ExamNotOpen,
    IllegalTransition,
    InvalidAnswer,
    NoAttemptsLeft,
    SessionClosed,
)
from sessions.models import ExamSession
from sessions.tests.conftest import qid

pytestmark = pytest.mark.django_db
Status = ExamSession.Status


def start(exam, student):
    session, _ = services.exam_session_start(exam=exam, student=student)
    return session


def save(session, student, answers: dict, sequence: int):
    return services.exam_session_answers_save(
        session_id=session.pk,
        student=student,
        answers=[{"question_id": q, "student_answer": a} for q, a in answers.items()],
        sequence=sequence,
    )


def move_deadline(session, seconds_ago: float) -> None:
    """Pretend the deadline was `seconds_ago` seconds ago (no clock mocking needed)."""
    deadline = timezone.now() - timedelta(seconds=seconds_ago)
    ExamSession.objects.filter(pk=session.pk).update(
        deadline=deadline, started_at=deadline - timedelta(minutes=30)
    )


# --- window and attempts ---------------------------------------------------------------------------


def test_an_exam_cannot_be_started_before_it_opens(make_exam, student):
    exam = make_exam(start_time=timezone.now() + timedelta(hours=1))
    with pytest.raises(ExamNotOpen):
        start(exam, student)


def test_an_exam_cannot_be_started_after_it_closes(make_exam, student):
    now = timezone.now()
    exam = make_exam(start_time=now - timedelta(days=2), end_time=now - timedelta(days=1))
    with pytest.raises(ExamNotOpen):
        start(exam, student)


def test_an_unpublished_exam_cannot_be_started(make_exam, student):
    with pytest.raises(ExamNotOpen):
        start(make_exam(is_published=False), student)


def test_starting_again_resumes_the_same_session(exam, student):
    first, created = services.exam_session_start(exam=exam, student=student)
    again, created_again = services.exam_session_start(exam=exam, student=student)
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk


def test_attempts_are_limited_and_numbered(make_exam, student):
    exam = make_exam(allowed_attempts=2)
    for attempt in (1, 2):
        session = start(exam, student)
        assert session.attempt == attempt
        services.exam_session_submit(session_id=session.pk, student=student)
    with pytest.raises(NoAttemptsLeft):
        start(exam, student)


def test_a_high_security_exam_needs_a_verified_student(make_exam, student):
    exam = make_exam(security_level="high")
    with pytest.raises(IdentityNotVerified):
        start(exam, student)
    student.is_verified = True
    student.save()
    assert start(exam, student).is_in_progress


# --- deadline ----------------------------------------------------------------------------------------


def test_the_deadline_is_start_plus_duration(exam, student):
    session = start(exam, student)
    assert session.deadline - session.started_at == timedelta(minutes=30)


def test_the_deadline_never_passes_the_end_of_the_window(make_exam, student):
    exam = make_exam(end_time=timezone.now() + timedelta(minutes=10))
    session = start(exam, student)
    assert session.deadline == exam.end_time


def test_accommodations_extend_the_deadline_and_flag_media_exemption(exam, student):
    Accommodation.objects.create(
        exam=exam,
        student=student,
        extra_minutes=10,
        time_multiplier=Decimal("1.5"),
        media_exempt=True,
        media_exempt_reason="no working camera",
    )
    session = start(exam, student)
    assert session.deadline - session.started_at == timedelta(minutes=30 * 1.5 + 10)
    assert session.media_exempt


# --- autosave ----------------------------------------------------------------------------------------


def test_a_late_arriving_older_save_never_overwrites_a_newer_one(exam, student):
    session = start(exam, student)
    paragraph = qid(exam, "Paragraph")
    save(session, student, {paragraph: "my final thoughts"}, sequence=5)
    result = save(session, student, {paragraph: "an early draft"}, sequence=3)
    assert result.stale == [paragraph] and result.saved == []
    assert session.answers.get().response == "my final thoughts"


def test_replaying_the_same_save_changes_nothing(exam, student):
    session = start(exam, student)
    mcq = qid(exam, "MCQ")
    save(session, student, {mcq: "Mercury"}, sequence=1)
    replay = save(session, student, {mcq: "Mercury"}, sequence=1)
    assert replay.saved == [] and replay.stale == [mcq]
    assert session.answers.count() == 1


def test_answers_are_accepted_in_the_grace_minute_after_the_deadline(exam, student):
    session = start(exam, student)
    move_deadline(session, seconds_ago=30)
    assert save(session, student, {qid(exam, "MCQ"): "Mercury"}, sequence=1).saved


def test_answers_after_the_grace_minute_are_rejected_with_a_clear_error(exam, student):
    session = start(exam, student)
    move_deadline(session, seconds_ago=61)
    with pytest.raises(DeadlinePassed, match="60 seconds after the deadline"):
        save(session, student, {qid(exam, "MCQ"): "Mercury"}, sequence=1)


@pytest.mark.parametrize(
    ("type_", "answer"),
    [
        ("MCQ", "Pluto"),
        ("MCQ", ["Mercury"]),
        ("MCQ-multiple", "2"),
        ("MCQ-multiple", ["2", "2"]),
        ("MCQ-multiple", ["2", "11"]),
        ("Paragraph", {"text": "x"}),
        ("Paragraph", "x" * 20_001),
    ],
)
def test_answers_that_do_not_fit_their_question_are_rejected(exam, student, type_, answer):
    session = start(exam, student)
    with pytest.raises(InvalidAnswer):
        save(session, student, {qid(exam, type_): answer}, sequence=1)


def test_an_answer_to_a_question_of_another_exam_is_rejected(exam, make_exam, student):
    other = make_exam(title="Other")
    session = start(exam, student)
    with pytest.raises(InvalidAnswer):
        save(session, student, {qid(other, "MCQ"): "Mercury"}, sequence=1)


# --- submit and transitions ----------------------------------------------------------------------------


def test_submit_is_idempotent(exam, student):
    session = start(exam, student)
    first, changed = services.exam_session_submit(session_id=session.pk, student=student)
    again, changed_again = services.exam_session_submit(session_id=session.pk, student=student)
    assert (changed, changed_again) == (True, False)
    assert again.ended_at == first.ended_at and again.status == Status.SUBMITTED


def test_submit_saves_the_last_answers_it_carries(exam, student):
    session = start(exam, student)
    services.exam_session_submit(
        session_id=session.pk,
        student=student,
        answers=[{"question_id": qid(exam, "MCQ"), "student_answer": "Mercury"}],
        sequence=9,
    )
    assert session.answers.get().response == "Mercury"


def test_a_submitted_session_accepts_no_more_answers(exam, student):
    session = start(exam, student)
    services.exam_session_submit(session_id=session.pk, student=student)
    with pytest.raises(SessionClosed):
        save(session, student, {qid(exam, "MCQ"): "Venus"}, sequence=2)


@pytest.mark.parametrize("target", [Status.IN_PROGRESS, Status.EXPIRED, Status.CHEATING_DETECTED])
def test_a_finished_session_never_changes_state_again(exam, student, target):
    session = start(exam, student)
    services.exam_session_submit(session_id=session.pk, student=student)
    with pytest.raises(IllegalTransition):
        services.exam_session_transition(session_id=session.pk, to=target)


def test_a_late_submit_ends_the_session_as_expired_at_its_deadline(exam, student):
    session = start(exam, student)
    move_deadline(session, seconds_ago=120)
    session.refresh_from_db()
    ended, _ = services.exam_session_submit(session_id=session.pk, student=student)
    assert ended.status == Status.EXPIRED
    assert ended.ended_at == session.deadline


def test_an_abandoned_session_is_auto_submitted_with_its_last_answers(exam, student):
    session = start(exam, student)
    save(session, student, {qid(exam, "MCQ"): "Mercury", qid(exam, "Paragraph"): "Rayleigh"}, 4)
    move_deadline(session, seconds_ago=90)
    session.refresh_from_db()

    assert services.exam_sessions_expire_overdue() == 1
    session.refresh_from_db()
    assert session.status == Status.EXPIRED
    assert session.ended_at == session.deadline, "finish time is the deadline, not when we noticed"
    assert {a.response for a in session.answers.all()} == {"Mercury", "Rayleigh"}
    assert session.answers.get(question__type="MCQ").score == 2
    assert session.grading == ExamSession.Grading.PENDING  # the paragraph waits for a teacher


def test_a_session_within_its_grace_minute_is_not_expired_yet(exam, student):
    session = start(exam, student)
    move_deadline(session, seconds_ago=30)
    assert services.exam_sessions_expire_overdue() == 0
    session.refresh_from_db()
    assert session.is_in_progress


def test_the_periodic_task_expires_overdue_sessions(exam, student):
    from sessions.tasks import exam_sessions_expire_overdue

    session = start(exam, student)
    move_deadline(session, seconds_ago=90)
    # apply() runs the task here in either mode; beat's schedule naming it is checked below.
    assert exam_sessions_expire_overdue.apply().get() == 1
    session.refresh_from_db()
    assert session.status == Status.EXPIRED


def test_a_shuffled_order_is_a_permutation_fixed_for_the_attempt(make_exam, student):
    exam = make_exam(shuffle_questions=True)
    session = start(exam, student)
    assert sorted(session.question_order) == sorted(exam.questions.values_list("id", flat=True))
    assert start(exam, student).question_order == session.question_order


def test_every_beat_schedule_entry_names_a_registered_task():
    from django.conf import settings

    from procto.celery import app

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]
