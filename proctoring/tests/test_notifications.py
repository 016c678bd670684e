"""Critical alerts reach the exam's teacher and proctors by e-mail, once an hour at most."""

from __future__ import annotations

import pytest
from django.core import mail

from accounts.tests.factories import UserFactory
from proctoring.models import ProctoringEvent
from proctoring.services import event_record_client
from proctoring.tests.test_detections import feed
from sessions.tests.factories import ExamSessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PUBLIC_BASE_URL = "https://exams.school.example"


@pytest.fixture(autouse=True)
def tasks_in_process():
    # The e-mail task runs here, in services mode too: what is tested is who is told and when.
    from procto.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


@pytest.fixture(autouse=True)
def gil_left(world):
    """Gil proctored physics too, alongside Pat, until his account was deactivated."""
    gil = UserFactory(email="gil@school.example", first_name="Gil", role="proctor", is_active=False)
    world.physics.proctors.add(gil)
    return gil


def test_an_identity_mismatch_emails_the_teacher_and_active_proctors(
    world, django_capture_on_commit_callbacks
):
    session = world.stu_in_physics  # Tess teaches it, Pat proctors it
    with django_capture_on_commit_callbacks(execute=True):
        feed(session, "identity-mismatch", [True, True])
    assert ProctoringEvent.objects.filter(type="identity-mismatch").exists()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([session.exam.created_by.email, world.pat.email])
    message = mail.outbox[0]
    assert "Identity mismatch" in message.subject and "Physics final" in message.subject
    assert f"https://exams.school.example/proctoring/sessions/{session.pk}/" in message.body
    assert session.student.display_name in message.body


def test_the_same_alert_again_within_the_hour_sends_nothing_more(world, django_capture_on_commit_callbacks):
    session = world.stu_in_physics  # Tess teaches it, Pat proctors it
    with django_capture_on_commit_callbacks(execute=True):
        feed(session, "identity-mismatch", [True, True, False, False, False, False, False])  # opens, closes
        feed(session, "identity-mismatch", [True, True], seq0=100)  # opens again, 14 s later
    assert ProctoringEvent.objects.filter(type="identity-mismatch").count() == 2
    assert len(mail.outbox) == 2  # the first event's two e-mails only


def test_lesser_alerts_send_no_email(world, django_capture_on_commit_callbacks):
    session = world.stu_in_physics  # Tess teaches it, Pat proctors it
    with django_capture_on_commit_callbacks(execute=True):
        feed(session, "multiple-faces", [True] * 5)  # high, not critical
    assert ProctoringEvent.objects.filter(type="multiple-faces").exists()
    assert mail.outbox == []


def test_a_browser_cannot_claim_a_critical_alert_to_send_email(world, django_capture_on_commit_callbacks):
    session = world.stu_in_physics  # Tess teaches it, Pat proctors it
    with django_capture_on_commit_callbacks(execute=True):
        event_record_client(
            session_id=session.pk, student=session.student, type="tab-switch", severity="critical"
        )
    assert mail.outbox == []


def test_an_automatic_ending_is_emailed(student, django_capture_on_commit_callbacks):
    session = ExamSessionFactory(student=student, exam__security_level="high", exam__auto_terminate=True)
    with django_capture_on_commit_callbacks(execute=True):
        feed(session, "identity-mismatch", [True] * 40, cadence=10)  # 6.5 minutes: risk past the end
    session.refresh_from_db()
    assert session.status == "cheating-detected"
    ending = [m for m in mail.outbox if "Exam ended early" in m.subject]
    assert [m.subject for m in ending] == [
        f"[Procto] Critical alert: Exam ended early - {student.display_name}, {session.exam.title}"
    ]
    assert "Reason: Ended automatically" in ending[0].body


def test_a_line_break_in_a_students_name_does_not_stop_the_email(world, django_capture_on_commit_callbacks):
    session = world.stu_in_physics  # Tess teaches it, Pat proctors it
    student = session.student
    student.first_name = "Eve\nBcc: someone@elsewhere.example"
    student.save()
    with django_capture_on_commit_callbacks(execute=True):
        feed(session, "identity-mismatch", [True, True])
    assert len(mail.outbox) == 2
    assert all("\n" not in m.subject and "Eve Bcc:" in m.subject for m in mail.outbox)
    assert all(m.to in ([session.exam.created_by.email], [world.pat.email]) for m in mail.outbox)


def test_a_proctor_who_lost_the_role_is_not_emailed(world, django_capture_on_commit_callbacks):
    session = world.stu_in_physics  # Tess teaches it, Pat proctors it
    proctor = world.pat
    proctor.role = "student"
    proctor.save()
    with django_capture_on_commit_callbacks(execute=True):
        feed(session, "identity-mismatch", [True, True])
    assert [m.to for m in mail.outbox] == [[session.exam.created_by.email]]


def test_a_failed_send_is_not_counted_as_told(world, settings, django_capture_on_commit_callbacks):
    session = world.stu_in_physics  # Tess teaches it, Pat proctors it
    from proctoring.notifications import critical_alert_notify

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens: refused at once
    with django_capture_on_commit_callbacks(execute=True):  # robust: the frame's work is not undone
        feed(session, "identity-mismatch", [True, True])
    event = ProctoringEvent.objects.get(type="identity-mismatch")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert critical_alert_notify(event_id=event.pk) == 2  # the hour's mark was taken back


def test_each_recipient_reads_the_alerts_time_in_their_own_zone(world, django_capture_on_commit_callbacks):
    import zoneinfo

    from procto.local_time import local_datetime

    zones = {world.tess.email: "America/New_York", world.pat.email: "Asia/Kolkata"}
    for user in (world.tess, world.pat):
        user.time_zone = zoneinfo.ZoneInfo(zones[user.email])
        user.save()
    with django_capture_on_commit_callbacks(execute=True):
        feed(world.stu_in_physics, "identity-mismatch", [True, True])
    event = ProctoringEvent.objects.get(type="identity-mismatch")
    for message in mail.outbox:
        zone = zoneinfo.ZoneInfo(zones[message.to[0]])
        assert f"At: {local_datetime(event.occurred_at, zone)}\n" in message.body
    assert len(mail.outbox) == 2
