"""The exam page when the student's login ends mid-exam (static/js/exam-page.js), in real
Chromium: a banner says so and signs in again in a new tab, the answers queue and are sent once
signed in, and "Log out" asks first."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD
from exams.services import exam_create
from procto.tests.browser import BROWSER_TEST_MARKS, in_thread, log_in, wait_until
from sessions.models import Answer, ExamSession
from sessions.services import exam_session_start

pytestmark = BROWSER_TEST_MARKS


def quiz_started(world):
    """A short unproctored quiz of Physics 101 that Stu has started."""
    now = timezone.now()
    exam = exam_create(
        author=world.tess,
        course=world.physics.course,
        title="Physics quiz",
        duration_minutes=30,
        start_time=now - timedelta(minutes=5),
        end_time=now + timedelta(hours=2),
        is_published=True,
        security_level="low",
        proctoring_enabled=False,
        questions=[
            {"type": "Paragraph", "text": "Why is the sky blue?", "points": 1},
            {"type": "Paragraph", "text": "Why is the sea salty?", "points": 1},
        ],
    )
    session, _ = exam_session_start(exam=exam, student=world.stu)
    return session


def answer_of(session: ExamSession, text: str) -> bool:
    return Answer.objects.filter(session=session, response=text).exists()


def test_a_lost_login_shows_a_banner_that_signs_in_again_in_a_new_tab_the_exam_resumes_and_log_out_asks(
    still_camera_chromium, live_server_url, transactional_world
):
    session = in_thread(quiz_started, transactional_world)
    context = still_camera_chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, live_server_url, session.student.email, DEFAULT_PASSWORD)
    page.goto(f"{live_server_url}/sessions/{session.pk}/take/")
    page.locator("#connection-state", has_text="Connected").wait_for(timeout=20_000)
    first = page.locator("#questions textarea").first
    first.fill("Rayleigh scattering.")
    wait_until(lambda: in_thread(answer_of, session, "Rayleigh scattering."), what="the first answer saved")

    # The login expires: the browser drops the session cookie. The socket opened before stays up.
    page.context.clear_cookies(name="sessionid")
    first.fill("Rayleigh scattering favours blue light.")
    page.locator("#save-state", has_text="queued").wait_for(timeout=20_000)
    pill = page.locator("#connection-state")
    # Before: the pill still said "Connected" ("Live" with media) and only a tooltip explained.
    assert pill.inner_text() == "Signed out", pill.inner_text()
    banner = page.locator("#signed-out")
    assert banner.is_visible()
    assert "You are signed out" in banner.inner_text() and "keeps running" in banner.inner_text()
    link = banner.get_by_role("link", name="Sign in again")
    assert link.get_attribute("target") == "_blank"
    assert not in_thread(answer_of, session, "Rayleigh scattering favours blue light.")

    # More answers queue while signed out.
    page.locator("#next-question").click()
    page.locator("#questions textarea").nth(1).fill("Rivers carry minerals.")
    page.locator("#prev-question").click()
    page.locator("#save-state", has_text="2 answers queued").wait_for(timeout=20_000)

    # "Sign in again" opens the login page in a new tab; the exam's tab stays as it is.
    with page.context.expect_page() as opened:
        link.click()
    login_tab = opened.value
    login_tab.wait_for_load_state()
    login_tab.fill("input[name=username]", session.student.email)
    login_tab.fill("input[name=password]", DEFAULT_PASSWORD)
    login_tab.locator("form:has(input[name=username]) button[type=submit]").click()
    login_tab.wait_for_url(re.compile(r".*/accounts/signed-in/$"))
    assert "go back to your exam" in login_tab.inner_text("main").lower()

    # The exam's tab resumes by itself: the queue is sent, the banner goes.
    banner.wait_for(state="hidden", timeout=15_000)
    wait_until(
        lambda: (
            in_thread(answer_of, session, "Rayleigh scattering favours blue light.")
            and in_thread(answer_of, session, "Rivers carry minerals.")
        ),
        what="the queued answers sent once signed in again",
    )
    page.locator("#save-state", has_text="Saved").wait_for(timeout=15_000)
    page.locator("#connection-state", has_text="Connected").wait_for(timeout=15_000)
    assert page.url.endswith(f"/sessions/{session.pk}/take/")
    login_tab.close()

    # "Log out" on the exam page asks first, and says the exam keeps running.
    dialog = page.locator("#logout-dialog")
    page.get_by_role("button", name="Log out").click()
    assert dialog.is_visible()
    assert "keeps running" in dialog.inner_text()
    dialog.get_by_role("button", name="Stay signed in").click()
    assert dialog.is_hidden()
    assert page.url.endswith("/take/")

    page.locator("#questions textarea").first.fill("Written before logging out.")
    page.get_by_role("button", name="Log out").click()
    dialog.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r".*/accounts/login/"))
    stored = in_thread(lambda: ExamSession.objects.get(pk=session.pk))
    assert stored.status == ExamSession.Status.IN_PROGRESS  # logging out does not end the exam
    assert in_thread(answer_of, session, "Written before logging out.")
    context.close()
