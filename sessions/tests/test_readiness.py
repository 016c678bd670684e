"""Steps before an exam: consent, system check, identity check, room scan; enforced by the server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.identity_service import identity_verify
from accounts.tests import identity_images as ids
from exams.models import Accommodation
from exams.tests.factories import ExamFactory
from procto.encrypted_files import read_encrypted
from proctoring.tests import faces
from sessions import readiness, services
from sessions.models import ExamSession, PreExamRoomScan, SystemCheck
from sessions.room_scan import pre_exam_room_scan_chunk_add, pre_exam_room_scan_done, room_scan_chunk_add

pytestmark = pytest.mark.django_db
ALL_ITEMS = dict.fromkeys(readiness.REQUIRED_ITEMS["high"], True)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def proctored(make_exam):
    def make(level="medium", **overrides):
        return make_exam(security_level=level, proctoring_enabled=True, **overrides)

    return make


@pytest.fixture
def verified(student):
    identity_verify(user=student, photo=ids.astronaut_photo(), id_card=ids.astronaut_id_card())
    student.refresh_from_db()
    return student


def test_a_proctored_exam_needs_consent_and_a_system_check(proctored, student):
    exam = proctored()
    assert readiness.readiness_missing(exam=exam, student=student) == ["consent", "system-check"]
    with pytest.raises(readiness.NotReady) as excinfo:
        services.exam_session_start(exam=exam, student=student)
    assert excinfo.value.details == {"missing": ["consent", "system-check"]}

    readiness.consent_record(exam=exam, student=student)
    readiness.system_check_record(exam=exam, student=student, items=ALL_ITEMS, measurements={})
    session, created = services.exam_session_start(exam=exam, student=student)
    assert created and session.is_in_progress


def test_a_check_missing_a_required_item_does_not_pass(proctored, student):
    exam = proctored()
    check = readiness.system_check_record(
        exam=exam, student=student, items=ALL_ITEMS | {"camera": False}, measurements={}
    )
    assert not check.passed
    assert "camera" in check.required


def test_low_security_needs_no_camera(proctored, student):
    check = readiness.system_check_record(
        exam=proctored("low"), student=student, items={"browser": True, "websocket": True}, measurements={}
    )
    assert check.passed


def test_a_system_check_goes_stale_after_thirty_minutes(proctored, student):
    exam = proctored()
    readiness.consent_record(exam=exam, student=student)
    check = readiness.system_check_record(exam=exam, student=student, items=ALL_ITEMS, measurements={})
    SystemCheck.objects.filter(pk=check.pk).update(created_at=timezone.now() - timedelta(minutes=31))
    assert readiness.readiness_missing(exam=exam, student=student) == ["system-check"]


def test_a_camera_exempt_student_is_not_asked_for_camera_or_identity(proctored, student):
    exam = proctored("high")
    Accommodation.objects.create(
        exam=exam, student=student, media_exempt=True, media_exempt_reason="no camera"
    )
    assert "camera" not in readiness.required_items(exam=exam, student=student)
    readiness.consent_record(exam=exam, student=student)
    student.is_verified = True
    student.save()
    readiness.system_check_record(
        exam=exam,
        student=student,
        items={"browser": True, "websocket": True, "fullscreen": True},
        measurements={},
    )
    assert readiness.readiness_missing(exam=exam, student=student) == []


def test_high_security_also_needs_a_passing_identity_check_and_a_room_scan(proctored, verified):
    exam = proctored("high")
    readiness.consent_record(exam=exam, student=verified)
    readiness.system_check_record(exam=exam, student=verified, items=ALL_ITEMS, measurements={})
    assert readiness.readiness_missing(exam=exam, student=verified) == ["identity-check", "room-scan"]
    check = readiness.identity_check_record(exam=exam, student=verified, capture=ids.astronaut_webcam())
    assert check.passed
    assert readiness.readiness_missing(exam=exam, student=verified) == ["room-scan"]
    room_scan_chunk_add_before(exam, verified)
    assert readiness.readiness_missing(exam=exam, student=verified) == []


def test_someone_else_on_camera_fails_the_identity_check(proctored, verified):
    check = readiness.identity_check_record(
        exam=proctored("high"), student=verified, capture=ids.hopper_photo()
    )
    assert not check.passed and check.distance > check.threshold


def identity_api(user, exam, capture: bytes):
    client = APIClient()
    client.force_authenticate(user)
    return client.post(
        f"/api/exams/{exam.pk}/identity-check",
        {"liveCapture": ids.upload_file("cam.jpg", capture)},
        format="multipart",
    )


def test_the_identity_api_explains_a_capture_without_a_face(proctored, verified):
    response = identity_api(verified, proctored("high"), faces.jpeg_bytes(faces.cat()))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "NO_FACE"


def test_the_identity_api_sends_an_unverified_student_to_the_profile(proctored, student):
    response = identity_api(student, proctored("high"), ids.astronaut_webcam())
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "IDENTITY_NOT_VERIFIED"


def test_the_identity_api_refuses_a_capture_over_5_mb_as_too_large(proctored, verified):
    response = identity_api(verified, proctored("high"), b"\xff\xd8" + b"0" * (5 * 1024 * 1024 + 1))
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "TOO_LARGE" and error["details"] == {"field": "liveCapture"}


def test_the_identity_api_confirms_the_right_person(proctored, verified):
    data = identity_api(verified, proctored("high"), ids.astronaut_webcam()).json()["data"]
    assert data["passed"] is True and "confirmed" in data["message"]


# --- pages --------------------------------------------------------------------------------------------


def test_starting_from_the_page_sends_the_student_to_the_missing_step(client, proctored, student):
    exam = proctored()
    client.force_login(student)
    response = client.post(f"/exams/{exam.pk}/start/")
    assert response["Location"] == f"/exams/{exam.pk}/consent/"
    client.post(f"/exams/{exam.pk}/consent/")
    response = client.post(f"/exams/{exam.pk}/start/")
    assert response["Location"] == f"/exams/{exam.pk}/check/"


def test_a_ready_student_starts_and_lands_on_the_exam_page(client, proctored, student):
    exam = proctored()
    readiness.consent_record(exam=exam, student=student)
    readiness.system_check_record(exam=exam, student=student, items=ALL_ITEMS, measurements={})
    client.force_login(student)
    response = client.post(f"/exams/{exam.pk}/start/", {"screen_resolution": "1280x800"})
    session = ExamSession.objects.get()
    assert response["Location"] == f"/sessions/{session.pk}/take/"
    assert session.screen_resolution == "1280x800"
    page = client.get(response["Location"])
    assert page.status_code == 200 and b"exam-bootstrap" in page.content


def scan_upload(client, exam, chunks=(b"webm-part-0", b"webm-part-1"), recording_id="aaaaaaaa"):
    """The room-scan page's upload: multipart chunks with the session cookie and CSRF token."""
    for index, chunk in enumerate(chunks):
        response = client.post(
            f"/api/exams/{exam.pk}/room-scan",
            {
                "chunk": ids.upload_file(f"room-scan-{index}.webm", chunk),
                "index": index,
                "recordingId": recording_id,
                "final": "true" if index == len(chunks) - 1 else "false",
            },
        )
        assert response.status_code == 200, response.content[:300]
    return response.json()["data"]


def test_high_security_records_the_room_scan_before_the_clock_starts(client, proctored, verified):
    exam = proctored("high")
    readiness.consent_record(exam=exam, student=verified)
    readiness.system_check_record(exam=exam, student=verified, items=ALL_ITEMS, measurements={})
    readiness.identity_check_record(exam=exam, student=verified, capture=ids.astronaut_webcam())
    client.force_login(verified)
    # Starting without the scan opens no attempt: the scan page comes first. It used to come after
    # the start, on the attempt's clock (16 s of the exam gone).
    response = client.post(f"/exams/{exam.pk}/start/")
    assert response["Location"] == f"/exams/{exam.pk}/room-scan/"
    assert not ExamSession.objects.exists()
    assert client.get(response["Location"]).status_code == 200

    assert scan_upload(client, exam) == {"complete": True, "bytes": 22, "next": 0}
    scanned = PreExamRoomScan.objects.get(user=verified, exam=exam)
    response = client.post(f"/exams/{exam.pk}/start/")
    session = ExamSession.objects.get()
    assert response["Location"] == f"/sessions/{session.pk}/take/"
    assert session.started_at > scanned.completed_at  # the clock started after the scan
    assert session.deadline == session.started_at + timedelta(minutes=exam.duration_minutes)
    assert read_encrypted(session.room_scan) == b"webm-part-0webm-part-1"
    # The scan went to this attempt: a next attempt records its own.
    assert not PreExamRoomScan.objects.exists()


def test_the_api_refuses_to_start_a_high_security_exam_before_its_room_scan(proctored, verified):
    exam = proctored("high")
    readiness.consent_record(exam=exam, student=verified)
    readiness.system_check_record(exam=exam, student=verified, items=ALL_ITEMS, measurements={})
    readiness.identity_check_record(exam=exam, student=verified, capture=ids.astronaut_webcam())
    client = APIClient()
    client.force_authenticate(verified)
    response = client.post("/api/exam-sessions/start", {"examId": exam.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"missing": ["room-scan"]}
    # A scan older than the checks' 30 minutes no longer opens the exam.
    room_scan_chunk_add_before(exam, verified)
    PreExamRoomScan.objects.update(
        completed_at=timezone.now() - readiness.CHECK_VALID_FOR - timedelta(seconds=1)
    )
    assert client.post("/api/exam-sessions/start", {"examId": exam.pk}, format="json").status_code == 409
    room_scan_chunk_add_before(exam, verified, recording_id="bbbbbbbb")
    assert client.post("/api/exam-sessions/start", {"examId": exam.pk}, format="json").status_code == 201


def test_a_client_on_the_old_order_is_told_to_send_the_room_scan_before_the_start(proctored, verified):
    """Clients written when the scan went to the attempt after the start now get a 409 from the
    start: its message and docs/PROTOCOL.md's changes say what to call instead."""
    exam = proctored("high")
    readiness.consent_record(exam=exam, student=verified)
    readiness.system_check_record(exam=exam, student=verified, items=ALL_ITEMS, measurements={})
    readiness.identity_check_record(exam=exam, student=verified, capture=ids.astronaut_webcam())
    client = APIClient()
    client.force_authenticate(verified)
    error = client.post("/api/exam-sessions/start", {"examId": exam.pk}, format="json").json()["error"]
    assert (error["code"], error["details"]) == ("CHECKS_REQUIRED", {"missing": ["room-scan"]})
    assert f"send it to POST /api/exams/{exam.pk}/room-scan, then start" in error["message"]

    protocol = (Path(django_settings.BASE_DIR) / "docs" / "PROTOCOL.md").read_text()
    changes = " ".join(protocol.split("## Changes for API clients", 1)[1].split("\n## ", 1)[0].split())
    assert 'the start answers **409 `CHECKS_REQUIRED`** with `details.missing: ["room-scan"]`' in changes
    assert "`POST /api/exams/<exam_id>/room-scan`, the same multipart chunks" in changes
    assert "`POST /api/exam-sessions/start` within 30 minutes" in changes


def room_scan_chunk_add_before(exam, student, recording_id="aaaaaaaa"):
    return pre_exam_room_scan_chunk_add(
        exam=exam, student=student, index=0, data=b"webm", final=True, recording_id=recording_id
    )


def stored(tmp_path) -> set[str]:
    """The storage names of the room-scan files under MEDIA_ROOT (the `media` fixture's tmp_path)."""
    return {str(path.relative_to(tmp_path)) for path in (tmp_path / "room-scans").rglob("*.enc")}


def test_recording_the_room_again_keeps_the_earlier_scan_until_the_new_one_is_complete(
    client, proctored, student, tmp_path, django_capture_on_commit_callbacks
):
    exam = proctored("high")
    client.force_login(student)
    assert 'id="scan-recorded"' not in client.get(f"/exams/{exam.pk}/room-scan/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        first = room_scan_chunk_add_before(exam, student)
        again = pre_exam_room_scan_chunk_add(
            exam=exam, student=student, index=0, data=b"new-0", final=False, recording_id="bbbbbbbb"
        )
    # The new recording is under way: the finished one still counts and is still stored. It was
    # deleted on the new recording's first chunk, so a student who gave up re-recording had no scan.
    assert not again.complete and again.video == first.video and again.completed_at == first.completed_at
    assert pre_exam_room_scan_done(exam=exam, student=student, since=first.completed_at)
    assert read_encrypted(first.video) == b"webm"
    assert stored(tmp_path) == {first.video, *again.chunks} and len(again.chunks) == 1
    # Back on the page, the student is told so.
    page = " ".join(client.get(f"/exams/{exam.pk}/room-scan/").content.decode().split())
    assert "We already have your room scan" in page
    assert "it stays your room scan until the new recording has been received in full" in page
    with django_capture_on_commit_callbacks(execute=True):
        scan = pre_exam_room_scan_chunk_add(
            exam=exam, student=student, index=1, data=b"new-1", final=True, recording_id="bbbbbbbb"
        )
    # Complete, the new one replaces it: the earlier video is deleted.
    assert scan.complete and scan.completed_at > first.completed_at
    assert read_encrypted(scan.video) == b"new-0new-1"
    assert stored(tmp_path) == {scan.video}


def test_a_student_who_gives_up_recording_again_starts_with_the_earlier_scan(
    proctored, verified, tmp_path, django_capture_on_commit_callbacks
):
    exam = proctored("high")
    readiness.consent_record(exam=exam, student=verified)
    readiness.system_check_record(exam=exam, student=verified, items=ALL_ITEMS, measurements={})
    readiness.identity_check_record(exam=exam, student=verified, capture=ids.astronaut_webcam())
    with django_capture_on_commit_callbacks(execute=True):
        first = room_scan_chunk_add_before(exam, verified)
        pre_exam_room_scan_chunk_add(
            exam=exam, student=verified, index=0, data=b"new-0", final=False, recording_id="bbbbbbbb"
        )
    assert readiness.readiness_missing(exam=exam, student=verified) == []
    with django_capture_on_commit_callbacks(execute=True):
        session, created = services.exam_session_start(exam=exam, student=verified)
    assert created and session.room_scan == first.video
    assert read_encrypted(session.room_scan) == b"webm"
    # The abandoned recording's chunk is deleted with the pre-exam scan; the attempt's video stays.
    assert stored(tmp_path) == {first.video}
    assert not PreExamRoomScan.objects.exists()


def scan_chunk_post(client, exam):
    chunk = ids.upload_file("room-scan-0.webm", b"webm-part-0")
    data = {"chunk": chunk, "index": 0, "recordingId": "aaaaaaaa", "final": "true"}
    return client.post(f"/api/exams/{exam.pk}/room-scan", data)


def test_a_room_scan_no_start_could_take_is_refused_before_any_of_it_is_stored(
    client, make_exam, proctored, student, tmp_path
):
    """Up to 60 MB were taken and kept (until retention) for exams needing no scan or closed."""
    client.force_login(student)
    high = proctored("high")
    exempt = proctored("high", title="Exempt")
    Accommodation.objects.create(exam=exempt, student=student, media_exempt=True)
    now = timezone.now()
    ended = proctored("high", start_time=now - timedelta(hours=2), end_time=now - timedelta(hours=1))
    # An ended exam the student sat is still theirs to see (one they did not sit is a 404, below).
    ExamSession.objects.create(
        exam=ended,
        student=student,
        attempt=1,
        started_at=now,
        deadline=now,
        status=ExamSession.Status.SUBMITTED,
    )
    refusals = {
        "ROOM_SCAN_NOT_NEEDED": [
            proctored("medium"),
            make_exam(security_level="high", proctoring_enabled=False),
            exempt,  # no camera: no identity check and no scan
        ],
        "EXAM_NOT_OPEN": [
            proctored("high", start_time=now + timedelta(hours=1), end_time=now + timedelta(hours=2)),
            ended,
        ],
    }
    for code, exams in refusals.items():
        for exam in exams:
            response = scan_chunk_post(client, exam)
            assert (response.status_code, response.json()["error"]["code"]) == (409, code), exam
            assert response.json()["error"]["message"]
    assert "does not need a room scan" in scan_chunk_post(client, exempt).json()["error"]["message"]

    # An attempt in progress takes its scan itself; one finished used the only attempt.
    session = ExamSession.objects.create(
        exam=high, student=student, attempt=1, started_at=now, deadline=now + timedelta(minutes=30)
    )
    response = scan_chunk_post(client, high)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "ATTEMPT_IN_PROGRESS")
    assert response.json()["error"]["details"] == {"sessionId": str(session.pk)}
    assert f"/api/exam-sessions/{session.pk}/room-scan" in response.json()["error"]["message"]
    ExamSession.objects.filter(pk=session.pk).update(status=ExamSession.Status.SUBMITTED)
    response = scan_chunk_post(client, high)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "NO_ATTEMPTS_LEFT")

    # Exams the student cannot see stay a 404.
    for hidden in (
        ExamFactory(security_level="high", is_published=True),  # another course
        proctored("high", is_published=False),
        proctored("high", start_time=now - timedelta(hours=2), end_time=now - timedelta(hours=1)),
    ):
        assert scan_chunk_post(client, hidden).status_code == 404
    assert not PreExamRoomScan.objects.exists()
    assert not (tmp_path / "room-scans").exists()


def test_the_consent_page_says_what_is_captured(client, proctored, student):
    client.force_login(student)
    page = client.get(f"/exams/{proctored().pk}/consent/").content.decode()
    assert "Webcam pictures" in page and "Who sees it" in page and "How long it is kept" in page


def test_the_dashboard_lists_available_upcoming_and_finished_exams(client, make_exam, student):
    open_exam = make_exam(title="Open now")
    make_exam(
        title="Next week",
        start_time=timezone.now() + timedelta(days=7),
        end_time=timezone.now() + timedelta(days=8),
    )
    done = make_exam(title="Done", show_results=True)
    session, _ = services.exam_session_start(exam=done, student=student)
    services.exam_session_submit(session_id=session.pk, student=student)
    client.force_login(student)
    page = client.get("/").content.decode()
    available = page.split('id="available-title"')[1].split('id="upcoming-title"')[0]
    assert open_exam.title in available and "Done" not in available  # no attempts left
    assert "Next week" in page.split('id="upcoming-title"')[1]
    assert "0.00 / 10.00" in page.split('id="finished-title"')[1]


# --- room scan ----------------------------------------------------------------------------------------


def test_a_room_scan_arrives_in_chunks_and_is_stored_encrypted(world):
    session = world.stu_in_physics
    room_scan_chunk_add(session=session, index=0, data=b"webm-part-0", final=False)
    room_scan_chunk_add(session=session, index=0, data=b"webm-part-0", final=False)  # a retry
    upload = room_scan_chunk_add(session=session, index=1, data=b"webm-part-1", final=True)
    session.refresh_from_db()
    assert upload.complete
    assert read_encrypted(session.room_scan) == b"webm-part-0webm-part-1"


def test_a_missing_chunk_is_refused_naming_the_one_expected(world):
    student = world.stu
    session = world.stu_in_physics
    client = APIClient()
    client.force_authenticate(student)
    response = client.post(
        f"/api/exam-sessions/{session.pk}/room-scan",
        {"chunk": ids.upload_file("c.webm", b"x"), "index": 2},
        format="multipart",
    )
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"expected": 0}


def test_a_new_recording_replaces_a_half_uploaded_one(world):
    session = world.stu_in_physics
    room_scan_chunk_add(session=session, index=0, data=b"old-0", final=False, recording_id="aaaaaaaa")
    room_scan_chunk_add(session=session, index=1, data=b"old-1", final=False, recording_id="aaaaaaaa")
    # The page was reloaded and the student recorded again.
    room_scan_chunk_add(session=session, index=0, data=b"new-0", final=False, recording_id="bbbbbbbb")
    room_scan_chunk_add(session=session, index=1, data=b"new-1", final=True, recording_id="bbbbbbbb")
    session.refresh_from_db()
    assert read_encrypted(session.room_scan) == b"new-0new-1"


def test_the_bandwidth_probe_reports_what_arrived(student):
    client = APIClient()
    client.force_authenticate(student)
    response = client.generic(
        "POST", "/api/system-check/bandwidth", b"x" * 262_144, content_type="application/octet-stream"
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"bytes": 262_144}


def test_the_bandwidth_probe_takes_the_pages_upload_with_the_session_cookie_and_csrf_token(student):
    # As precheck.js sends it: the session cookie, the CSRF header, raw bytes. The CSRF check reads
    # request.POST first, which made DRF parse the body and refuse it with 415 (no parser).
    client = Client(enforce_csrf_checks=True)
    client.force_login(student)
    client.get("/")  # the page sets the CSRF cookie, as the check page does
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/system-check/bandwidth",
        b"x" * 262_144,
        content_type="application/octet-stream",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200, response.content[:300]
    assert response.json()["data"] == {"bytes": 262_144}


def test_the_bandwidth_probe_still_refuses_a_session_upload_without_the_csrf_token(student):
    client = Client(enforce_csrf_checks=True)
    client.force_login(student)
    response = client.post(
        "/api/system-check/bandwidth", b"x" * 1024, content_type="application/octet-stream"
    )
    assert response.status_code == 403
