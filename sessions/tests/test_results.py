"""Results students can read (sessions.results): nothing per question before the release; each
score and the teacher's feedback after it; a release now or at a time, by the exam's teachers;
the e-mail that says the results are out, sent once per attempt."""

from __future__ import annotations

import re
import smtplib
import zoneinfo
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from exams.models import Question
from sessions import results, services
from sessions.models import ExamSession, ResultsRelease
from sessions.tests.conftest import qid

pytestmark = pytest.mark.django_db


class DownMailServer(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


FEEDBACK = "Good start: Rayleigh scattering is the key word, and say why blue more than red."


@pytest.fixture(autouse=True)
def _site(settings):
    settings.PUBLIC_BASE_URL = "https://exams.school.example"


def sat(exam, student, *, paragraph="Because of the air.") -> ExamSession:
    """`student` sits `exam`: Mercury (right), 2 and 9 (half right), a paragraph, no code; submits."""
    session, _ = services.exam_session_start(exam=exam, student=student)
    answers = [
        {"question_id": qid(exam, "MCQ"), "student_answer": "Mercury"},
        {"question_id": qid(exam, "MCQ-multiple"), "student_answer": ["2", "9"]},
        {"question_id": qid(exam, "Paragraph"), "student_answer": paragraph},
    ]
    session, _ = services.exam_session_submit(session_id=session.pk, student=student, answers=answers)
    return session


def graded(session, teacher, *, score="2.5", feedback=FEEDBACK) -> ExamSession:
    answer = session.answers.get(question__type=Question.Type.PARAGRAPH)
    services.answer_grade(answer=answer, grader=teacher, score=Decimal(score), feedback=feedback)
    session.refresh_from_db()
    return session


def result_page(client, user, session) -> str:
    client.force_login(user)
    response = client.get(f"/sessions/{session.pk}/result/")
    assert response.status_code == 200
    return response.content.decode()


def release(client, user, exam, **form):
    client.force_login(user)
    return client.post(f"/exams/{exam.pk}/results/release/", form)


# --- what the student reads ------------------------------------------------------------------------


def test_before_the_release_the_student_sees_no_score_at_all(client, make_exam, student, teacher):
    exam = make_exam(show_results=False)
    session = graded(sat(exam, student), teacher)
    assert session.grading == ExamSession.Grading.COMPLETE
    page = result_page(client, student, session)
    assert "has not released the results yet" in page
    assert "data-score" not in page and FEEDBACK not in page and "4.5" not in page
    dashboard = client.get("/").content.decode()
    assert "Not released yet" in dashboard and "4.5" not in dashboard


def test_after_the_release_the_student_reads_each_score_and_the_teacher_s_feedback(
    client, make_exam, student, teacher
):
    exam = make_exam(show_results=False)
    session = graded(sat(exam, student), teacher)
    results.exam_results_release(exam=exam, actor=teacher)
    page = result_page(client, student, session)
    # 2 (Mercury) + 0 (2 right, 9 wrong: one earns, one costs) + 2.5 (graded) + 0 (no code).
    assert re.search(r"<strong>4\.5</strong> of 10 points", page), page
    scores = re.findall(r"data-score>([^<]*)<", page)
    assert scores == ["2 / 2 points", "0 / 2 points", "2.5 / 3 points", "0 / 3 points"]
    assert FEEDBACK in page and "Feedback from your teacher" in page
    assert "Mercury <strong>(your answer)</strong>" in page and "About 0.39 AU." in page
    assert "You did not answer this question." in page  # the code question
    assert "4.50 / 10.00: your answers and feedback" in client.get("/").content.decode()


def test_a_released_exam_still_hides_an_attempt_being_graded(client, make_exam, student, teacher):
    exam = make_exam(show_results=False)
    session = sat(exam, student)
    results.exam_results_release(exam=exam, actor=teacher)
    page = result_page(client, student, session)
    assert "still grading" in page and "data-score" not in page


def test_nobody_else_reads_a_student_s_result(client, make_exam, student, other_student, teacher):
    exam = make_exam(show_results=True)
    session = graded(sat(exam, student), teacher)
    for someone in (other_student, teacher):
        client.force_login(someone)
        assert client.get(f"/sessions/{session.pk}/result/").status_code == 404


# --- releasing -------------------------------------------------------------------------------------


def test_a_teacher_releases_the_results_from_the_exam_report(client, make_exam, student, teacher):
    exam = make_exam(show_results=False)
    graded(sat(exam, student), teacher)
    client.force_login(teacher)
    report = client.get(f"/exams/{exam.pk}/report/").content.decode()
    assert "Not released: students see no score" in report and 'value="now"' in report
    response = release(client, teacher, exam, when="now")
    assert response.status_code == 302 and response["Location"] == f"/exams/{exam.pk}/report/"
    exam.refresh_from_db()
    assert exam.show_results
    assert ResultsRelease.objects.get(exam=exam).by == teacher
    assert "Released" in client.get(f"/exams/{exam.pk}/report/").content.decode()


def test_only_the_exam_s_teachers_and_admins_release_its_results(
    client, world, admin_user, make_exam, teacher
):
    exam = world.physics  # Tess teaches it; Pat proctors it; Vic teaches another course
    for someone, status in [(world.pat, 403), (world.stu, 403), (world.vic, 404), (world.sid, 404)]:
        assert release(client, someone, exam, when="now").status_code == status, someone
    exam.refresh_from_db()
    assert not exam.show_results
    client.force_login(world.pat)
    report = client.get(f"/exams/{exam.pk}/report/").content.decode()
    assert "Not released" in report and 'value="now"' not in report  # proctors see, not release
    assert release(client, admin_user, exam, when="now").status_code == 302
    exam.refresh_from_db()
    assert exam.show_results


def test_results_released_at_a_time_appear_when_beat_runs_then(client, make_exam, student, teacher, clock):
    exam = make_exam(show_results=False)
    session = graded(sat(exam, student), teacher)
    # Tess types the time as her page shows times: in her own zone.
    teacher.time_zone = zoneinfo.ZoneInfo("America/New_York")
    teacher.save()
    at = timezone.localtime(timezone.now() + timedelta(hours=2), teacher.time_zone).replace(
        second=0, microsecond=0
    )
    response = release(client, teacher, exam, when="later", at=at.strftime("%Y-%m-%dT%H:%M"))
    assert response.status_code == 302
    planned = ResultsRelease.objects.get(exam=exam)
    assert planned.release_at == at and planned.released_at is None
    assert "releases the results on" in result_page(client, student, session)

    clock.shift(timedelta(hours=1, minutes=59).total_seconds())
    assert results.results_release_due() == 0
    exam.refresh_from_db()
    assert not exam.show_results and mail.outbox == []

    clock.shift(timedelta(minutes=1, seconds=30).total_seconds())
    assert results.results_release_due() == 1
    exam.refresh_from_db()
    assert exam.show_results
    assert ResultsRelease.objects.get(exam=exam).released_at is not None
    assert [m.to for m in mail.outbox] == [[student.email]]
    assert "data-score" in result_page(client, student, session)


def test_a_planned_release_can_be_moved_or_called_off_but_not_put_in_the_past(client, make_exam, teacher):
    exam = make_exam(show_results=False)
    later = timezone.localtime(timezone.now() + timedelta(days=1))
    release(client, teacher, exam, when="later", at=later.strftime("%Y-%m-%dT%H:%M"))
    past = timezone.localtime(timezone.now() - timedelta(hours=1))
    release(client, teacher, exam, when="later", at=past.strftime("%Y-%m-%dT%H:%M"))
    assert "Choose a time in the future" in client.get(f"/exams/{exam.pk}/report/").content.decode()
    assert ResultsRelease.objects.get(exam=exam).release_at.date() == later.date()
    release(client, teacher, exam, when="cancel")
    assert not ResultsRelease.objects.filter(exam=exam).exists()
    assert results.results_release_due(now=timezone.now() + timedelta(days=2)) == 0
    exam.refresh_from_db()
    assert not exam.show_results


def test_results_already_out_cannot_be_planned_for_later(make_exam, teacher):
    exam = make_exam(show_results=True)
    with pytest.raises(results.ResultsAlreadyReleased):
        results.exam_results_release(exam=exam, actor=teacher, at=timezone.now() + timedelta(days=1))


# --- the e-mail ------------------------------------------------------------------------------------


def test_the_email_says_the_results_are_out_and_goes_once(make_exam, student, other_student, teacher):
    exam = make_exam(show_results=False, title="Physics final")
    stu = graded(sat(exam, student), teacher)
    sam = sat(exam, other_student, paragraph="")  # nothing to grade by hand: graded at submit
    results.exam_results_release(exam=exam, actor=teacher)
    assert results.exam_results_notify(exam_id=exam.pk) == 2
    # Again, from beat, from a second release, from grading again: nobody is told twice.
    assert results.exam_results_notify(exam_id=exam.pk) == 0
    assert results.results_release_due() == 0
    results.exam_results_release(exam=exam, actor=teacher)
    assert results.session_results_notify(session_id=stu.pk) is False
    graded(stu, teacher, score="3", feedback="Regraded.")
    assert results.results_notify_untold() == 0
    assert sorted(m.to[0] for m in mail.outbox) == sorted([student.email, other_student.email])
    message = next(m for m in mail.outbox if m.to == [student.email])
    assert message.subject == "[Procto] Your results for Physics final are out"  # one line
    assert f"https://exams.school.example/sessions/{stu.pk}/result/" in message.body
    assert "score" in message.body and "4.5" not in message.body  # the score stays on the site
    ExamSession.objects.filter(pk__in=[stu.pk, sam.pk]).update(results_notified_at=None)
    assert results.results_notify_untold() == 2  # what beat sweeps: those not told


def test_an_attempt_graded_after_the_release_is_told_when_grading_completes(
    make_exam, student, teacher, django_capture_on_commit_callbacks
):
    from procto.celery import app

    exam = make_exam(show_results=False)
    session = sat(exam, student)
    results.exam_results_release(exam=exam, actor=teacher)
    assert results.exam_results_notify(exam_id=exam.pk) == 0  # still being graded: not yet
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True  # the task the grading's signal queues runs here
    try:
        with django_capture_on_commit_callbacks(execute=True):
            graded(session, teacher)
    finally:
        app.conf.task_always_eager = saved
    assert [m.to for m in mail.outbox] == [[student.email]]


def test_a_mail_server_that_fails_leaves_the_attempt_to_tell_again(make_exam, student, teacher, settings):
    exam = make_exam(show_results=True)
    session = graded(sat(exam, student), teacher)
    settings.EMAIL_BACKEND = "sessions.tests.test_results.DownMailServer"
    with pytest.raises(smtplib.SMTPException):
        results.session_results_notify(session_id=session.pk)
    session.refresh_from_db()
    assert session.results_notified_at is None
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert results.results_notify_untold() == 1


def test_attempts_released_before_the_upgrade_are_not_emailed(make_exam, student, teacher):
    """The migration counts them as told (sessions/migrations/0011_results_release.py)."""
    from importlib import import_module

    from django.apps import apps

    exam = make_exam(show_results=True)
    session = graded(sat(exam, student), teacher)
    migration = import_module("sessions.migrations.0011_results_release")
    migration.already_released_count_as_told(apps, None)
    assert results.results_notify_untold() == 0 and mail.outbox == []
    session.refresh_from_db()
    assert session.results_notified_at is not None


def test_an_inactive_or_deleted_student_is_not_emailed(make_exam, student, teacher):
    exam = make_exam(show_results=True)
    session = graded(sat(exam, student), teacher)
    student.is_active = False
    student.save()
    assert results.session_results_notify(session_id=session.pk) is False
    assert mail.outbox == []
    session.refresh_from_db()
    assert session.results_notified_at is not None  # nobody to tell: it counts as told


def test_beat_carries_out_planned_releases_every_minute(settings):
    from procto.celery import app

    entries = settings.CELERY_BEAT_SCHEDULE.values()
    entry = next(e for e in entries if e["task"] == "sessions.tasks.results_release_due")
    assert entry["schedule"] <= 60 and entry["task"] in app.tasks
