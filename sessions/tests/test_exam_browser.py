"""A student's whole exam in real headless Chromium: fake camera showing a real face, fake
microphone speaking, against daphne with the real PostgreSQL and Redis."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD
from exams.demo import _demo_questions
from exams.services import exam_create
from procto.tests.browser import BROWSER_TEST_MARKS, in_thread, log_in, screenshot, wait_until
from proctoring.models import ProctoringEvent
from proctoring.stream_state import stream_stats
from sessions.models import Answer, ExamSession
from sessions.realtime import student_notify

pytestmark = BROWSER_TEST_MARKS


def midterm_build(world):
    now = timezone.now()
    return exam_create(
        author=world.tess,
        course=world.physics.course,  # Physics 101: Stu and Sam are in it
        title="Physics midterm",
        duration_minutes=30,
        start_time=now - timedelta(minutes=5),
        end_time=now + timedelta(hours=2),
        is_published=True,
        security_level="medium",
        questions=_demo_questions(),
    )


@pytest.fixture
def midterm(transactional_world):
    """Tess's physics midterm (medium security, the demo's questions), open and not yet begun by
    anyone; Stu sits it here (the rest of the `world` is there too)."""
    # Built off Playwright's thread, like the world: Django refuses ORM calls beside its loop.
    return in_thread(midterm_build, transactional_world)


HIDE_FOR_A_WHILE = """async () => {
  const set = (hidden) => {
    const state = hidden ? "hidden" : "visible";
    Object.defineProperty(document, "visibilityState", {configurable: true, get: () => state});
    Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
    document.dispatchEvent(new Event("visibilitychange"));
  };
  set(true);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  set(false);
}"""


def panel(page, question_type: str):
    return page.locator(f'[data-type="{question_type}"]')


def test_a_student_takes_a_proctored_exam_end_to_end(browser, live_server_url, transactional_world, midterm):
    student = transactional_world.stu
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, permissions=["camera", "microphone"]
    )
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    media_kinds = []  # the first byte (the kind) of each binary message the page sends
    page.on(
        "websocket",
        lambda ws: ws.on(
            "framesent", lambda payload: isinstance(payload, bytes) and media_kinds.append(payload[0])
        ),
    )

    log_in(page, live_server_url, student.email, DEFAULT_PASSWORD)
    screenshot(page, "dashboard")
    # Stu's dashboard also lists the world's other open exams (physics in progress): begin this one.
    page.locator(".exam-row", has_text=midterm.title).get_by_role("link", name="Begin").click()
    page.wait_for_url(re.compile(r".*/consent/$"))
    screenshot(page, "consent")
    page.click("text=I agree, continue")

    # Pre-test check: every item this (medium) exam needs passes with the fake devices.
    page.wait_for_url(re.compile(r".*/check/$"))
    page.get_by_role("link", name=re.compile("Continue")).wait_for(timeout=30_000)
    screenshot(page, "system-check")
    page.get_by_role("link", name=re.compile("Continue")).click()
    page.wait_for_url(re.compile(r".*/ready/$"))
    page.click("text=Start the exam now")
    page.wait_for_url(re.compile(r".*/take/$"))
    session = ExamSession.objects.get(exam=midterm, student=student)

    page.click("#fullscreen-enter")
    panel(page, "MCQ").wait_for(state="attached")

    # Answer every question type, moving through the navigator.
    answers = [
        ("MCQ", lambda p: p.get_by_label("Mercury").check()),
        ("MCQ-multiple", lambda p: [p.get_by_label(x, exact=True).check() for x in ("2", "7", "11")]),
        ("Paragraph", lambda p: p.locator("textarea").fill("Rayleigh scattering favours blue light.")),
        ("Image", lambda p: p.locator("textarea").fill("Three sides: a triangle.")),
        ("Code", lambda p: p.locator("textarea").fill("def is_even(n):\n    return n % 2 == 0")),
        ("Numeric", lambda p: p.locator("input").fill("299792,5")),
        (
            "Matching",
            lambda p: [
                p.get_by_label(k).select_option(v) for k, v in (("Earth", "Moon"), ("Saturn", "Titan"))
            ],
        ),
    ]
    for index, (question_type, answer) in enumerate(answers):
        page.locator("#navigator button").nth(index).click()
        answer(panel(page, question_type))
    page.locator("#prev-question").click()  # leaving a text field saves at once
    wait_until(lambda: Answer.objects.filter(session=session).count() == 7, what="7 saved answers")

    def saved() -> dict:
        answers = Answer.objects.filter(session=session).select_related("question")
        return {a.question.type: a.response for a in answers}

    # The matching answer's second pick is its own autosave, a moment after the first: on a busy
    # machine the seventh answer was counted with only its first pick stored yet (CI).
    expected = ("299792,5", ["Moon", None, "Titan"])
    wait_until(lambda: (saved()["Numeric"], saved()["Matching"]) == expected, what="both matches saved")
    assert (saved()["Numeric"], saved()["Matching"]) == expected
    page.locator("#save-state", has_text="Saved").wait_for()
    screenshot(page, "exam-page")

    # A reload restores every answer from the server.
    page.reload()
    page.click("#fullscreen-enter")
    panel(page, "MCQ").wait_for(state="attached")
    assert panel(page, "MCQ").get_by_label("Mercury").is_checked()
    assert panel(page, "Code").locator("textarea").input_value().startswith("def is_even")
    assert panel(page, "Numeric").locator("input").input_value() == "299792,5"
    assert panel(page, "Matching").get_by_label("Saturn").input_value() == "Titan"

    # Offline: the change is queued on the device, then sent when the network returns.
    context.set_offline(True)
    page.locator("#navigator button").nth(2).click()
    panel(page, "Paragraph").locator("textarea").fill("Written while offline.")
    page.locator("#next-question").click()
    page.locator("#save-state", has_text="queued").wait_for(timeout=15_000)
    screenshot(page, "exam-offline")
    context.set_offline(False)
    wait_until(
        lambda: Answer.objects.filter(session=session, response="Written while offline.").exists(),
        timeout=40,
        what="the queued answer to reach the server",
    )

    # Switching to another tab becomes a proctoring event. Headless Chromium does not hide a
    # page when another one is brought to the front, so the page is told what a browser would
    # tell it: the document became hidden for a while, then visible again.
    page.evaluate(HIDE_FOR_A_WHILE)
    event = wait_until(
        lambda: ProctoringEvent.objects.filter(session=session, type="tab-switch").first(),
        timeout=30,
        what="a tab-switch event",
    )
    assert event.details.get("durationMs", 0) >= 1000

    # The server received webcam frames and audio chunks.
    def media_arrived():
        stats = stream_stats(session.pk)
        return stats if (stats["frame:count"] or 0) >= 1 and (stats["audio:count"] or 0) >= 2 else None

    stats = wait_until(media_arrived, timeout=30, what="frames and audio on the server")
    assert stats["frame:count"] >= 1
    # In bundles (kind 3): a frame and the audio since the last one in one message (PROTOCOL.md).
    assert media_kinds and set(media_kinds) == {3}, media_kinds

    # A proctor's warning shows at once.
    in_thread(
        student_notify,
        session.pk,
        {"type": "warning", "message": "Please keep your eyes on the screen.", "from": "proctor"},
    )
    page.get_by_text("Please keep your eyes on the screen.").wait_for(timeout=10_000)
    screenshot(page, "exam-warning")

    # Submit with confirmation.
    page.click("#submit-open")
    page.click("#submit-confirm")
    page.locator("#finished").wait_for()
    screenshot(page, "exam-submitted")
    session.refresh_from_db()
    assert session.status == "submitted"
    assert session.answers.get(question__type="MCQ").score == 1
    assert not errors, errors
    context.close()
