"""The pages' one API client (static/js/api.js) in real Chromium, on a page of the running app:
what callers may rely on when a call succeeds, is refused, or gets no answer."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD
from exams.services import exam_create
from procto.tests.browser import BROWSER_TEST_MARKS, in_thread, log_in
from sessions import readiness
from sessions.models import ExamSession, IdentityCheck, PreExamRoomScan, SystemCheck

pytestmark = BROWSER_TEST_MARKS

# Runs `call(api)` in the page and describes how it ended, in terms a caller can test.
OUTCOME = """async (call) => {
  const api = await import("/static/js/api.js");
  try {
    return { ok: true, value: await call(api) };
  } catch (error) {
    return {
      ok: false,
      name: error.name,
      isApiError: error instanceof api.ApiError,
      isNetworkError: error instanceof api.NetworkError,
      status: error.status ?? null,
      code: error.code ?? null,
      message: error.message,
      details: error.details ?? null,
      transient: error.transient ?? null,
    };
  }
}"""


def outcome(page, call: str) -> dict:
    """`call` is the body of an async arrow function of `api`, the client module."""
    return page.evaluate(f"({OUTCOME})(async (api) => {{ {call} }})")


@pytest.fixture
def student_page(still_camera_chromium, live_server_url, transactional_world):
    """A page of the app, Stu logged in."""
    context = still_camera_chromium.new_context()
    page = context.new_page()
    log_in(page, live_server_url, transactional_world.stu.email, DEFAULT_PASSWORD)
    # Loaded once while online: the offline test must find the module already in the page.
    page.evaluate('import("/static/js/api.js").then(() => true)')
    yield page
    context.close()


def test_a_post_sends_the_csrf_header_and_returns_the_envelopes_data(student_page):
    result = outcome(student_page, 'return await api.apiFetch("/api/auth/ws-ticket", { method: "POST" });')
    assert result["ok"], result
    assert isinstance(result["value"]["ticket"], str) and result["value"]["ticket"]

    result = outcome(student_page, 'return await api.apiFetchWithTimestamp("/api/auth/profile");')
    assert result["ok"], result
    assert result["value"]["timestamp"].endswith("Z")
    assert "email" in result["value"]["data"]


def test_a_refusal_becomes_an_api_error_with_the_envelopes_code_message_and_details(student_page):
    result = outcome(student_page, 'return await api.apiFetch("/api/exam-sessions/start", { json: {} });')
    assert result["ok"] is False
    assert result["isApiError"] and not result["isNetworkError"]
    assert (result["status"], result["code"]) == (400, "VALIDATION_ERROR")
    assert result["message"] == "Some fields are invalid."
    assert "examId" in result["details"]
    assert result["transient"] is False


def test_an_answer_that_is_not_our_envelope_is_described_by_its_status(student_page):
    student_page.route(
        "**/api/auth/profile",
        lambda route: route.fulfill(status=502, content_type="text/html", body="<h1>Bad gateway</h1>"),
    )
    result = outcome(student_page, 'return await api.apiFetch("/api/auth/profile");')
    assert result["isApiError"] and not result["isNetworkError"]
    assert (result["status"], result["code"], result["transient"]) == (502, "HTTP_502", True)


def test_no_answer_is_a_network_error_that_callers_can_tell_apart(student_page):
    student_page.context.set_offline(True)
    try:
        result = outcome(student_page, 'return await api.apiFetch("/api/auth/profile");')
    finally:
        student_page.context.set_offline(False)
    assert result["isNetworkError"] and result["isApiError"]
    assert (result["status"], result["code"], result["transient"]) == (0, "NETWORK", True)

    # A request nobody answers: the client's timeout, not the browser's, ends it.
    student_page.route("**/api/auth/profile", lambda route: None)
    result = outcome(student_page, 'return await api.apiFetch("/api/auth/profile", { timeoutMs: 300 });')
    assert result["isNetworkError"]
    assert (result["status"], result["code"]) == (0, "TIMEOUT")


def test_a_caller_that_aborts_gets_the_browsers_abort_error(student_page):
    student_page.route("**/api/auth/profile", lambda route: None)
    result = outcome(
        student_page,
        """const controller = new AbortController();
        const call = api.apiFetch("/api/auth/profile", { signal: controller.signal });
        controller.abort();
        return await call;""",
    )
    assert result["name"] == "AbortError" and not result["isApiError"]


def test_the_bandwidth_probes_answer_is_success_only_when_it_is_ok(student_page):
    # What the server answers the probe today, asked without the client (CSRF header included).
    status = student_page.evaluate(
        """async () => {
          const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
          const response = await fetch("/api/system-check/bandwidth", {
            method: "POST",
            body: new Blob([new Uint8Array(4096)], { type: "application/octet-stream" }),
            headers: { "X-CSRFToken": token, "Content-Type": "application/octet-stream" },
          });
          return response.status;
        }"""
    )
    result = outcome(
        student_page,
        """const blob = new Blob([new Uint8Array(4096)], { type: "application/octet-stream" });
        const response = await api.apiRequest("/api/system-check/bandwidth", { method: "POST", body: blob });
        return response.status;""",
    )
    if 200 <= status < 300:
        assert result == {"ok": True, "value": status}
    else:
        assert result["ok"] is False and result["isApiError"] and not result["isNetworkError"]
        assert result["status"] == status

    # And whatever the server does today: a non-OK answer to the probe is never a success.
    student_page.route("**/api/system-check/bandwidth", lambda route: route.fulfill(status=503, body=""))
    result = outcome(
        student_page,
        """const blob = new Blob([new Uint8Array(4096)]);
        return await api.apiRequest("/api/system-check/bandwidth", { method: "POST", body: blob });""",
    )
    assert result["ok"] is False and result["isApiError"]
    assert (result["status"], result["code"], result["transient"]) == (503, "HTTP_503", True)


def high_level_exam_consented_to(world, student):
    """Tess's exam whose system check has every item, the upload speed among them; `student`
    has consented to it and done nothing else for it yet."""
    now = timezone.now()
    exam = exam_create(
        author=world.tess,
        course=world.physics.course,  # Physics 101: Stu and Sam are in it
        title="High-security final",
        duration_minutes=30,
        start_time=now - timedelta(minutes=5),
        end_time=now + timedelta(hours=2),
        is_published=True,
        security_level="high",
        questions=[{"type": "Paragraph", "text": "Why is the sky blue?", "points": 1}],
    )
    readiness.consent_record(exam=exam, student=student)
    return exam


def test_the_system_check_of_a_high_level_exam_times_the_upload_and_saves_its_result(
    still_camera_chromium, live_server_url, transactional_world
):
    student = transactional_world.stu
    exam = in_thread(high_level_exam_consented_to, transactional_world, student)
    context = still_camera_chromium.new_context(permissions=["camera", "microphone"])
    page = context.new_page()
    log_in(page, live_server_url, student.email, DEFAULT_PASSWORD)
    probes = []
    page.on(
        "response",
        lambda response: "/system-check/bandwidth" in response.url and probes.append(response.status),
    )
    page.goto(f"{live_server_url}/exams/{exam.pk}/check/")
    # Every item passes, the upload speed among them (the probe took the page's upload: session
    # cookie, CSRF header, raw bytes), and the result is saved (POST, JSON, CSRF header).
    page.locator("#continue").wait_for(timeout=40_000)
    assert page.locator('.check-item[data-item="bandwidth"]').get_attribute("data-state") == "pass"
    assert probes == [200]
    saved = in_thread(lambda: SystemCheck.objects.get(user=student, exam=exam))
    assert saved.passed and saved.items["bandwidth"] is True
    assert saved.measurements["upload_kbps"] > 0
    # The fake microphone's beeps were heard above its silence between them.
    assert saved.measurements["mic_peak_db"] >= saved.measurements["mic_floor_db"] + 12
    context.close()


def checked_but_not_scanned(world, student):
    """A high-security exam `student` may start but for the room scan: consented, system and
    identity checks passed, identity verified."""
    exam = high_level_exam_consented_to(world, student)
    student.is_verified = True
    student.save(update_fields=["is_verified"])
    required = readiness.required_items(exam=exam, student=student)
    SystemCheck.objects.create(
        user=student, exam=exam, items=dict.fromkeys(required, True), required=required, passed=True
    )
    IdentityCheck.objects.create(
        user=student, exam=exam, capture="none", distance=0.2, threshold=0.6, passed=True
    )
    assert readiness.readiness_missing(exam=exam, student=student) == ["room-scan"]
    return exam


def test_the_room_scan_uploads_as_multipart_before_the_clock_starts_and_goes_to_the_attempt(
    still_camera_chromium, live_server_url, transactional_world
):
    student = transactional_world.stu
    exam = in_thread(checked_but_not_scanned, transactional_world, student)
    context = still_camera_chromium.new_context(permissions=["camera"])
    page = context.new_page()
    log_in(page, live_server_url, student.email, DEFAULT_PASSWORD)
    # The start page sends the student to the scan first: no attempt, no clock yet.
    page.goto(f"{live_server_url}/exams/{exam.pk}/ready/")
    page.get_by_role("link", name="Record a short video of your room").click()
    page.wait_for_url(f"{live_server_url}/exams/{exam.pk}/room-scan/")
    assert "clock has not started" in page.inner_text("main")
    page.click("#scan-record:not([disabled])")
    page.click("#scan-stop:not([aria-disabled])", timeout=20_000)  # Stop counts down the minimum first
    page.locator("#continue").click(timeout=30_000)
    assert not in_thread(lambda: ExamSession.objects.filter(exam=exam, student=student).exists())
    scanned = in_thread(lambda: PreExamRoomScan.objects.get(exam=exam, user=student))
    assert scanned.complete

    page.wait_for_url(f"{live_server_url}/exams/{exam.pk}/ready/")
    page.click("text=Start the exam now")
    page.wait_for_url(re.compile(r".*/take/$"))
    session = in_thread(lambda: ExamSession.objects.get(exam=exam, student=student))
    assert session.room_scan == scanned.video
    assert session.started_at > scanned.completed_at  # none of the exam's time went on the scan
    context.close()


def test_the_identity_check_page_acts_on_the_code_of_a_refusal(
    still_camera_chromium, live_server_url, transactional_world
):
    # Stu marked verified, but with no face on record: the server refuses the photo with a 409
    # envelope (IDENTITY_NOT_VERIFIED), and the page sends the student to the profile page.
    student = transactional_world.stu

    def verified_without_a_face():
        assert not student.photo
        student.is_verified = True
        student.save(update_fields=["is_verified"])
        return high_level_exam_consented_to(transactional_world, student)

    exam = in_thread(verified_without_a_face)
    context = still_camera_chromium.new_context(permissions=["camera"])
    page = context.new_page()
    log_in(page, live_server_url, student.email, DEFAULT_PASSWORD)
    page.goto(f"{live_server_url}/exams/{exam.pk}/identity/")
    page.click("#take-photo:not([disabled])")
    page.click("#use-photo")
    link = page.locator("#identity-status a", has_text="Go to your profile")
    link.wait_for(timeout=20_000)
    assert "requires a verified identity" in page.locator("#identity-status").inner_text()
    assert not in_thread(lambda: IdentityCheck.objects.filter(user=student).exists())
    context.close()
