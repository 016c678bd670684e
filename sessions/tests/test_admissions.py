"""Exams a proctor admits each student to: the student asks, a proctor who watches the exam
admits or denies (with a reason), and only then can the student's clock start."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from exams.tests.factories import ExamFactory
from procto.asgi import application
from procto.encrypted_files import store_encrypted
from sessions import admissions, readiness, services
from sessions.admissions import AdmissionRequired
from sessions.models import Admission, ExamSession, IdentityCheck

pytestmark = pytest.mark.django_db
ORIGIN = (b"origin", b"http://127.0.0.1:8000")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def gated(make_exam, proctor):
    """An open exam (no proctoring steps, so readiness is not in the way) a proctor admits to."""
    exam = make_exam(admission_required=True, allowed_attempts=2)
    exam.proctors.add(proctor)
    return exam


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def decide(user, admission_id, **body):
    return client_for(user).post(f"/api/exam-sessions/admissions/{admission_id}/decide", body, format="json")


def identity_check(exam, student, *, passed=True) -> IdentityCheck:
    return IdentityCheck.objects.create(
        user=student,
        exam=exam,
        capture=store_encrypted(b"\xff\xd8\xff webcam jpeg", folder="identity/exam-checks"),
        distance=0.31 if passed else 0.82,
        threshold=0.55,
        passed=passed,
    )


# --- the start waits for a proctor ------------------------------------------------------------------


def test_the_exam_cannot_start_until_a_proctor_admits_the_student(gated, student, proctor):
    with pytest.raises(AdmissionRequired) as refused:
        services.exam_session_start(exam=gated, student=student)
    assert refused.value.status == 409
    assert refused.value.details == {"admission": "none"}

    admission, created = admissions.admission_request(exam=gated, student=student)
    assert created
    with pytest.raises(AdmissionRequired, match="Waiting for a proctor"):
        services.exam_session_start(exam=gated, student=student)
    assert not ExamSession.objects.exists()  # no clock runs while the student waits

    admissions.admission_decide(actor=proctor, admission_id=admission.pk, admit=True)
    session, created = services.exam_session_start(exam=gated, student=student)
    assert created and session.is_in_progress
    admission.refresh_from_db()
    assert admission.session == session
    assert session.started_at >= admission.decided_at


def test_the_start_api_answers_409_admission_required(gated, student):
    response = client_for(student).post("/api/exam-sessions/start", {"examId": gated.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ADMISSION_REQUIRED"


def test_a_denied_student_reads_the_reason_and_may_ask_again(gated, student, proctor):
    admission, _ = admissions.admission_request(exam=gated, student=student)
    response = decide(proctor, admission.pk, admit=False, reason="Your face is hidden by a hood.")
    assert response.status_code == 200

    status = client_for(student).get(f"/api/exams/{gated.pk}/admission").json()["data"]
    assert (status["status"], status["reason"]) == ("denied", "Your face is hidden by a hood.")
    with pytest.raises(AdmissionRequired, match=r"did not admit you: Your face is hidden by a hood\."):
        services.exam_session_start(exam=gated, student=student)

    again = client_for(student).post(f"/api/exams/{gated.pk}/admission")
    assert again.status_code == 201
    assert again.json()["data"]["status"] == "pending"
    assert Admission.objects.filter(status="pending").count() == 1


def test_a_denial_needs_a_reason(gated, student, proctor):
    admission, _ = admissions.admission_request(exam=gated, student=student)
    response = decide(proctor, admission.pk, admit=False, reason="   ")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "REASON_REQUIRED"
    admission.refresh_from_db()
    assert admission.status == "pending"


def test_an_admission_is_good_for_one_attempt_only(gated, student, proctor):
    admission, _ = admissions.admission_request(exam=gated, student=student)
    admissions.admission_decide(actor=proctor, admission_id=admission.pk, admit=True)
    first, _ = services.exam_session_start(exam=gated, student=student)
    # Resuming the attempt it opened needs nothing more.
    assert services.exam_session_start(exam=gated, student=student) == (first, False)
    services.exam_session_submit(session_id=first.pk, student=student)

    with pytest.raises(AdmissionRequired):
        services.exam_session_start(exam=gated, student=student)
    assert admissions.admission_status_for_student(exam=gated, student=student)["status"] == "used"
    second, created = admissions.admission_request(exam=gated, student=student)
    assert created and second.pk != admission.pk


def test_an_admission_not_used_within_15_minutes_expires(gated, student, proctor):
    admission, _ = admissions.admission_request(exam=gated, student=student)
    admissions.admission_decide(actor=proctor, admission_id=admission.pk, admit=True)
    Admission.objects.filter(pk=admission.pk).update(decided_at=timezone.now() - timedelta(minutes=16))

    assert admissions.admission_status_for_student(exam=gated, student=student)["status"] == "expired"
    with pytest.raises(AdmissionRequired, match="expired"):
        services.exam_session_start(exam=gated, student=student)
    _, created = admissions.admission_request(exam=gated, student=student)
    assert created


def test_an_exam_without_admission_starts_as_before(make_exam, student):
    exam = make_exam()
    _, created = services.exam_session_start(exam=exam, student=student)
    assert created
    response = client_for(student).post(f"/api/exams/{exam.pk}/admission")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ADMISSION_NOT_REQUIRED"


# --- asking ----------------------------------------------------------------------------------------------


def test_asking_twice_keeps_one_request_and_its_place_in_the_queue(gated, student):
    api = client_for(student)
    first = api.post(f"/api/exams/{gated.pk}/admission")
    second = api.post(f"/api/exams/{gated.pk}/admission")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["data"]["requestedAt"] == second.json()["data"]["requestedAt"]
    assert Admission.objects.count() == 1


def test_asking_while_admitted_returns_the_admission(gated, student, proctor):
    admission, _ = admissions.admission_request(exam=gated, student=student)
    admissions.admission_decide(actor=proctor, admission_id=admission.pk, admit=True)
    assert admissions.admission_request(exam=gated, student=student) == (admission, False)


def test_a_request_left_unanswered_for_30_minutes_leaves_the_queue_until_asked_again(gated, student, proctor):
    admission, _ = admissions.admission_request(exam=gated, student=student)
    Admission.objects.filter(pk=admission.pk).update(requested_at=timezone.now() - timedelta(minutes=31))
    assert not admissions.admissions_pending_for(user=proctor).exists()

    renewed, created = admissions.admission_request(exam=gated, student=student)
    assert (renewed.pk, created) == (admission.pk, False)
    assert list(admissions.admissions_pending_for(user=proctor)) == [admission]


def test_switching_admission_off_mid_exam_lets_waiting_students_start(gated, student, proctor):
    admissions.admission_request(exam=gated, student=student)
    gated.admission_required = False
    gated.save()
    assert not admissions.admissions_pending_for(user=proctor).exists()
    _, created = services.exam_session_start(exam=gated, student=student)
    assert created


def test_a_student_asks_only_once_the_steps_are_done(make_exam, student, proctor):
    exam = make_exam(admission_required=True, proctoring_enabled=True, security_level="low")
    response = client_for(student).post(f"/api/exams/{exam.pk}/admission")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CHECKS_REQUIRED"

    readiness.consent_record(exam=exam, student=student)
    readiness.system_check_record(
        exam=exam, student=student, items={"browser": True, "websocket": True}, measurements={}
    )
    assert client_for(student).post(f"/api/exams/{exam.pk}/admission").status_code == 201


def test_a_student_without_attempts_left_cannot_ask(gated, student, proctor):
    gated.allowed_attempts = 1
    gated.save()
    admission, _ = admissions.admission_request(exam=gated, student=student)
    admissions.admission_decide(actor=proctor, admission_id=admission.pk, admit=True)
    session, _ = services.exam_session_start(exam=gated, student=student)
    services.exam_session_submit(session_id=session.pk, student=student)
    response = client_for(student).post(f"/api/exams/{gated.pk}/admission")
    assert response.json()["error"]["code"] == "NO_ATTEMPTS_LEFT"


def test_the_request_carries_the_students_latest_identity_check(gated, student, proctor):
    identity_check(gated, student, passed=False)
    latest = identity_check(gated, student)
    admission, _ = admissions.admission_request(exam=gated, student=student)
    assert admission.identity_check == latest


# --- deciding: who may, and what they see -----------------------------------------------------------


def test_only_staff_watching_the_exam_may_decide(gated, student, proctor, teacher, admin_user):
    admission, _ = admissions.admission_request(exam=gated, student=student)
    stranger_proctor = UserFactory(role="proctor")
    other_teacher = UserFactory(role="teacher")
    for outsider in (stranger_proctor, other_teacher):
        assert decide(outsider, admission.pk, admit=True).status_code == 404
        listed = client_for(outsider).get("/api/exam-sessions/admissions").json()["data"]
        assert listed == []
    assert decide(student, admission.pk, admit=True).status_code == 403
    assert decide(proctor, 999_999, admit=True).status_code == 404
    admission.refresh_from_db()
    assert admission.status == "pending"

    # The exam's author and admins watch it too.
    assert [a["id"] for a in client_for(teacher).get("/api/exam-sessions/admissions").json()["data"]] == [
        admission.pk
    ]
    assert decide(admin_user, admission.pk, admit=True).status_code == 200


def test_a_decision_is_recorded_and_cannot_be_made_twice(gated, student, proctor, teacher):
    admission, _ = admissions.admission_request(exam=gated, student=student)
    assert decide(proctor, admission.pk, admit=True).status_code == 200
    admission.refresh_from_db()
    assert (admission.status, admission.decided_by, admission.reason) == ("admitted", proctor, "")
    assert timezone.now() - admission.decided_at < timedelta(seconds=5)

    late = decide(teacher, admission.pk, admit=False, reason="too late")
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "ALREADY_DECIDED"
    assert late.json()["error"]["details"] == {"status": "admitted"}
    admission.refresh_from_db()
    assert (admission.status, admission.decided_by) == ("admitted", proctor)


def test_bad_input_is_a_400_not_a_crash(gated, student, proctor):
    admission, _ = admissions.admission_request(exam=gated, student=student)
    assert decide(proctor, admission.pk).status_code == 400  # admit is required
    assert decide(proctor, admission.pk, admit="perhaps").status_code == 400
    bad_exam = client_for(proctor).get("/api/exam-sessions/admissions?examId=abc")
    assert bad_exam.status_code == 400
    assert bad_exam.json()["error"]["code"] == "VALIDATION_ERROR"


def test_the_pending_list_shows_whom_the_proctor_is_admitting(gated, student, proctor, other_student):
    student.photo = store_encrypted(b"\xff\xd8\xff profile jpeg", folder="identity/photos")
    student.save()
    check = identity_check(gated, student)
    admission, _ = admissions.admission_request(exam=gated, student=student)
    elsewhere = make_other_exam_request(other_student)

    data = client_for(proctor).get(f"/api/exam-sessions/admissions?examId={gated.pk}").json()["data"]
    assert [a["id"] for a in data] == [admission.pk]
    row = data[0]
    assert row["student"] == {"id": str(student.pk), "name": student.display_name, "email": student.email}
    assert (row["status"], row["examId"], row["examTitle"]) == ("pending", str(gated.pk), gated.title)
    assert row["identityCheck"]["passed"] is True
    assert (row["identityCheck"]["distance"], row["identityCheck"]["threshold"]) == (0.31, 0.55)
    assert row["identityCheck"]["checkedAt"] == check.created_at.isoformat()
    assert row["photoUrl"].startswith("/accounts/files/")
    assert row["identityCheck"]["captureUrl"] == f"/sessions/admissions/{admission.pk}/identity-capture.jpg"
    assert elsewhere.pk not in [a["id"] for a in data]


def make_other_exam_request(student) -> Admission:
    return Admission.objects.create(exam=ExamFactory(), student=student, requested_at=timezone.now())


def test_the_identity_images_open_for_the_watching_proctor_only(client, gated, student, proctor):
    student.photo = store_encrypted(b"\xff\xd8\xff profile jpeg", folder="identity/photos")
    student.save()
    identity_check(gated, student)
    admissions.admission_request(exam=gated, student=student)
    row = client_for(proctor).get("/api/exam-sessions/admissions").json()["data"][0]

    client.force_login(proctor)
    capture = client.get(row["identityCheck"]["captureUrl"])
    assert capture.status_code == 200
    assert capture.content == b"\xff\xd8\xff webcam jpeg"
    assert capture["Cache-Control"] == "private, no-store"
    photo = client.get(row["photoUrl"])
    assert (photo.status_code, photo.content) == (200, b"\xff\xd8\xff profile jpeg")

    for outsider in (UserFactory(role="proctor"), student):
        client.force_login(outsider)
        assert client.get(row["identityCheck"]["captureUrl"]).status_code == 404
    client.logout()
    assert client.get(row["identityCheck"]["captureUrl"]).status_code == 302  # to the login page


def test_the_student_sees_the_state_of_their_request(gated, student):
    api = client_for(student)
    data = api.get(f"/api/exams/{gated.pk}/admission").json()["data"]
    assert data == {
        "required": True,
        "status": "none",
        "reason": "",
        "requestedAt": None,
        "decidedAt": None,
        "expiresAt": None,
    }
    assert api.post(f"/api/exams/{gated.pk}/admission").json()["data"]["status"] == "pending"
    assert client_for(UserFactory(role="teacher")).get(f"/api/exams/{gated.pk}/admission").status_code == 403


def test_an_admitted_student_sees_until_when_to_start(gated, student, proctor):
    admission, _ = admissions.admission_request(exam=gated, student=student)
    admitted = admissions.admission_decide(actor=proctor, admission_id=admission.pk, admit=True)
    data = client_for(student).get(f"/api/exams/{gated.pk}/admission").json()["data"]
    assert data["status"] == "admitted"
    assert data["expiresAt"] == (admitted.decided_at + timedelta(minutes=15)).isoformat()


# --- the start page ---------------------------------------------------------------------------------


def test_the_start_page_waits_for_admission_then_offers_start(client, gated, student, proctor):
    client.force_login(student)
    page = client.get(f"/exams/{gated.pk}/ready/").content.decode()
    assert 'id="admission-request"' in page
    assert 'id="start-form" hidden' in page
    assert "js/admission-wait" in page

    admission, _ = admissions.admission_request(exam=gated, student=student)
    refused = client.post(f"/exams/{gated.pk}/start/", follow=True)
    assert refused.redirect_chain[-1][0] == f"/exams/{gated.pk}/ready/"
    assert "Waiting for a proctor to admit you" in refused.content.decode()

    admissions.admission_decide(actor=proctor, admission_id=admission.pk, admit=True)
    page = client.get(f"/exams/{gated.pk}/ready/").content.decode()
    assert 'id="start-form">' in page
    started = client.post(f"/exams/{gated.pk}/start/")
    session = ExamSession.objects.get(student=student)
    assert started.url == f"/sessions/{session.pk}/take/"


def test_the_start_page_of_an_exam_without_admission_is_unchanged(client, make_exam, student):
    exam = make_exam()
    client.force_login(student)
    page = client.get(f"/exams/{exam.pk}/ready/").content.decode()
    assert 'id="start-form">' in page
    assert "admission" not in page


# --- live on the monitor ------------------------------------------------------------------------------


async def open_monitor(user) -> WebsocketCommunicator:
    from accounts import services as account_services

    ticket = await database_sync_to_async(account_services.ws_ticket_issue)(user=user, login_id="m")
    socket = WebsocketCommunicator(application, f"/ws/monitor/?ticket={ticket}", headers=[ORIGIN])
    connected, _ = await socket.connect(timeout=5)
    assert connected
    return socket


@pytest.mark.django_db(transaction=True)
async def test_the_monitor_sees_requests_and_decisions_live(gated, student, proctor):
    socket = await open_monitor(proctor)
    admission, _ = await database_sync_to_async(admissions.admission_request)(exam=gated, student=student)
    message = json.loads(await socket.receive_from(timeout=5))
    assert message["type"] == "admission"
    assert message["admission"]["id"] == admission.pk
    assert (message["admission"]["status"], message["admission"]["student"]["name"]) == (
        "pending",
        student.display_name,
    )

    await database_sync_to_async(admissions.admission_decide)(
        actor=proctor, admission_id=admission.pk, admit=False, reason="Not on the list"
    )
    decided = json.loads(await socket.receive_from(timeout=5))["admission"]
    assert (decided["status"], decided["reason"], decided["decidedBy"]) == (
        "denied",
        "Not on the list",
        proctor.display_name,
    )
    await socket.disconnect()


def proctor_of_another_exam():
    outsider = UserFactory(role="proctor")
    ExamFactory().proctors.add(outsider)
    return outsider


@pytest.mark.django_db(transaction=True)
async def test_a_proctor_of_another_exam_hears_nothing(gated, student):
    socket = await open_monitor(await database_sync_to_async(proctor_of_another_exam)())
    await database_sync_to_async(admissions.admission_request)(exam=gated, student=student)
    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()


# --- races (PostgreSQL) -------------------------------------------------------------------------------


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_queue_one_and_one_admission_opens_one_attempt(gated, student, proctor):
    from sessions.tests.test_concurrency import run_together

    results = run_together(10, lambda _: admissions.admission_request(exam=gated, student=student))
    assert Admission.objects.count() == 1
    assert sum(created for _, created in results) == 1

    admissions.admission_decide(actor=proctor, admission_id=Admission.objects.get().pk, admit=True)
    starts = run_together(10, lambda _: services.exam_session_start(exam=gated, student=student))
    assert ExamSession.objects.count() == 1
    assert sum(created for _, created in starts) == 1


def test_decisions_are_on_record_in_the_admin_for_the_exams_staff_only(client, gated, student, proctor):
    admission, _ = admissions.admission_request(exam=gated, student=student)
    denied = decide(proctor, admission.pk, admit=False, reason="Your ID card is not readable")
    assert denied.status_code == 200
    client.force_login(gated.created_by)
    listing = client.get("/admin/exam_sessions/admission/")
    assert listing.status_code == 200
    assert b"Your ID card is not readable" in listing.content and student.email.encode() in listing.content
    client.force_login(UserFactory(role="teacher", is_staff=True))
    assert b"Your ID card is not readable" not in client.get("/admin/exam_sessions/admission/").content


def test_a_request_left_unanswered_past_the_proctors_list_is_lapsed_and_asking_again_renews_it(
    gated, student, proctor
):
    admission, _ = admissions.admission_request(exam=gated, student=student)
    Admission.objects.filter(pk=admission.pk).update(
        requested_at=timezone.now() - admissions.PENDING_VALID_FOR - timedelta(minutes=1)
    )
    assert list(admissions.admissions_pending_for(user=proctor)) == []
    # The waiting page is told, and asks again for the student (static/js/admission-wait.js).
    assert admissions.admission_status_for_student(exam=gated, student=student)["status"] == "lapsed"
    again, created = admissions.admission_request(exam=gated, student=student)
    assert again.pk == admission.pk and not created
    assert [a.pk for a in admissions.admissions_pending_for(user=proctor)] == [admission.pk]


def test_an_unreadable_identity_capture_is_a_404_not_a_500(client, gated, student, proctor, settings):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    check = identity_check(gated, student)
    default_storage.delete(check.capture)
    default_storage.save(check.capture, ContentFile(b"not our ciphertext" * 4))
    admission, _ = admissions.admission_request(exam=gated, student=student)
    client.force_login(proctor)
    assert client.get(f"/sessions/admissions/{admission.pk}/identity-capture.jpg").status_code == 404


def test_the_admin_filters_name_only_the_viewers_exams(client, gated, student, teacher):
    ExamFactory(created_by=UserFactory(role="teacher"), title="Secret draft: Chemistry final")
    admissions.admission_request(exam=gated, student=student)
    client.force_login(gated.created_by)
    for page in ("/admin/exam_sessions/admission/", "/admin/exam_sessions/examsession/"):
        response = client.get(page)
        assert response.status_code == 200 and b"Secret draft" not in response.content


@pytest.mark.parametrize("exam_id", ["9" * 30, "abc", "-1"])
def test_an_impossible_exam_id_on_the_admissions_list_is_a_4xx(proctor, exam_id):
    response = client_for(proctor).get(f"/api/exam-sessions/admissions?examId={exam_id}")
    assert 400 <= response.status_code < 500
