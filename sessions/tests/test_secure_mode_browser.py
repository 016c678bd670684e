"""The exam page's browser signals in real headless Chromium, tried as a student would: what is
reported means something (static/js/exam/secure-mode.js; docs/PROTOCOL.md, "Browser events").

Reloading the page, copying and pasting within one's own answer, resizing, zooming and a
full-page screenshot raise no alert; leaving the page, question text copied out, text pasted
from outside and a second screen do.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD
from exams.demo import _demo_questions
from exams.services import exam_create
from procto.tests.browser import BROWSER_TEST_MARKS, CHROMIUM, CHROMIUM_ARGS, in_thread, log_in, wait_until
from proctoring.models import ProctoringEvent
from proctoring.services import DEPARTURE_GRACE, departures_settle
from sessions import readiness
from sessions.services import exam_session_start
from sessions.tests.test_exam_browser import HIDE_FOR_A_WHILE, panel

pytestmark = BROWSER_TEST_MARKS

MEDIUM_ITEMS = {"browser": True, "websocket": True, "camera": True, "microphone": True, "fullscreen": True}
TWO_SCREENS = "--screen-info={0,0 1600x1000}{1600,0 1280x1024}"


def sitting_build(world):
    """Stu in the middle of a medium-security physics exam with the demo's questions (consent and
    system check done as the pages would have done them)."""
    now = timezone.now()
    exam = exam_create(
        author=world.tess,
        course=world.physics.course,
        title="Physics quiz",
        duration_minutes=30,
        start_time=now - timedelta(minutes=5),
        end_time=now + timedelta(hours=2),
        is_published=True,
        security_level="medium",
        questions=_demo_questions(),
    )
    readiness.consent_record(exam=exam, student=world.stu)
    readiness.system_check_record(exam=exam, student=world.stu, items=MEDIUM_ITEMS, measurements={})
    session, _ = exam_session_start(exam=exam, student=world.stu)
    return session


@pytest.fixture
def sitting(transactional_world):
    return in_thread(sitting_build, transactional_world)


def exam_page(chromium, base_url: str, session, **context_options):
    """Stu's exam page, in fullscreen, its stream socket live."""
    context = chromium.new_context(
        viewport={"width": 1280, "height": 900},
        permissions=["camera", "microphone", "clipboard-read", "clipboard-write"],
        **context_options,
    )
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    log_in(page, base_url, session.student.email, DEFAULT_PASSWORD)
    enter(page, f"{base_url}/sessions/{session.pk}/take/")
    return page


def enter(page, url: str | None = None) -> None:
    if url:
        page.goto(url)
    page.click("#fullscreen-enter")
    panel(page, "MCQ").wait_for(state="attached")
    page.locator("#connection-state[data-state=live]").wait_for(timeout=20_000)


def events_after_a_marker(page, session) -> list[tuple[str, str]]:
    """(type, severity) of every event of the session, once a tab switch made after everything
    else has arrived: the page sends its events in order, so nothing earlier is still on its way."""
    page.evaluate(HIDE_FOR_A_WHILE)
    wait_until(
        lambda: ProctoringEvent.objects.filter(session=session, type="tab-switch").exists(),
        timeout=30,
        what="the marker tab switch",
    )
    events = ProctoringEvent.objects.filter(session=session).exclude(type="tab-switch").order_by("pk")
    return list(events.values_list("type", "severity"))


def go_to_question(page, number: int) -> None:
    page.locator("#navigator button").nth(number - 1).click()


def test_reloading_the_exam_page_is_recorded_as_a_reload_and_raises_no_alert(
    browser, live_server_url, sitting
):
    page = exam_page(browser, live_server_url, sitting)
    page.reload()
    enter(page)
    reload_event = wait_until(
        lambda: ProctoringEvent.objects.filter(session=sitting, type="page-reload").first(),
        timeout=30,
        what="the reload record",
    )
    # Long after the departure could have been one, it still is not.
    assert in_thread(departures_settle, now=timezone.now() + DEPARTURE_GRACE * 3) == 0
    sitting.refresh_from_db()
    assert sitting.risk_score == 0
    assert events_after_a_marker(page, sitting) == [("page-reload", "info")]
    assert reload_event.review_status == "none"
    assert set(reload_event.details) == {"awayMs", "leaveSeq"} | ({"hiddenMs"} & set(reload_event.details))
    assert not page.errors, page.errors
    page.context.close()


def test_leaving_the_exam_page_is_a_departure_once_it_did_not_come_back_reloaded(
    browser, live_server_url, sitting
):
    page = exam_page(browser, live_server_url, sitting)
    page.goto(f"{live_server_url}/")  # another page: the dashboard
    departure = wait_until(
        lambda: ProctoringEvent.objects.filter(session=sitting, type="page-leave").first(),
        timeout=30,
        what="the departure",
    )
    assert (departure.severity, departure.review_status) == ("info", "none")  # held back for now
    enter(page, f"{live_server_url}/sessions/{sitting.pk}/take/")  # back by a link, not a reload
    assert in_thread(departures_settle, now=timezone.now() + DEPARTURE_GRACE * 3) == 1
    assert events_after_a_marker(page, sitting) == [("page-leave", "medium")]
    page.context.close()


def test_copying_and_pasting_within_ones_own_answer_raises_no_alert(browser, live_server_url, sitting):
    page = exam_page(browser, live_server_url, sitting)
    go_to_question(page, 3)  # a paragraph answer
    answer = panel(page, "Paragraph").locator("textarea")
    answer.fill("Rayleigh scattering favours blue light.")
    answer.focus()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.press("ControlOrMeta+C")
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.press("ControlOrMeta+V")
    # Cut a sentence from one answer, paste it into another.
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.press("ControlOrMeta+X")
    go_to_question(page, 4)
    panel(page, "Image").locator("textarea").focus()
    page.keyboard.press("ControlOrMeta+V")
    pasted = panel(page, "Image").locator("textarea").input_value()
    assert pasted.count("Rayleigh scattering favours blue light.") == 2
    assert events_after_a_marker(page, sitting) == []
    assert not page.errors, page.errors
    page.context.close()


def test_text_crossing_the_exam_boundary_is_reported_with_its_length_never_its_content(
    browser, live_server_url, sitting
):
    page = exam_page(browser, live_server_url, sitting)
    go_to_question(page, 3)
    question = panel(page, "Paragraph").locator(".q-text")
    question_text = question.inner_text()
    question.click(click_count=3)  # selects the question's text
    page.keyboard.press("ControlOrMeta+C")  # out of the exam: reported
    answer = panel(page, "Paragraph").locator("textarea")
    answer.focus()
    page.keyboard.press("ControlOrMeta+V")  # the question into one's own answer: inside
    outside = "Blue light is scattered more (from a website)."
    page.evaluate("(text) => navigator.clipboard.writeText(text)", outside)
    page.keyboard.press("ControlOrMeta+V")  # never copied in the exam: reported
    assert question_text in answer.input_value() and outside in answer.input_value()

    assert events_after_a_marker(page, sitting) == [("copy", "medium"), ("paste", "medium")]
    copied, pasted = ProctoringEvent.objects.filter(session=sitting, type__in=["copy", "paste"]).order_by(
        "pk"
    )
    question_id = panel(page, "Paragraph").get_attribute("data-qid")
    assert copied.details["from"] == "question" and copied.details["questionId"] == question_id
    assert copied.details["length"] >= len(question_text)
    assert pasted.details == {
        "length": len(outside),
        "questionId": question_id,
        "from": "outside",
        "blocked": False,
    }
    stored = str(ProctoringEvent.objects.filter(session=sitting).values_list("details", flat=True))
    assert "website" not in stored and "scattered" not in stored  # lengths only
    page.context.close()


def test_resizing_zooming_and_a_full_page_screenshot_raise_no_devtools_alert(
    browser, live_server_url, sitting, tmp_path
):
    page = exam_page(browser, live_server_url, sitting)
    # A full-page screenshot: the page is briefly laid out at a different size (this alone raised
    # "Devtools open" before).
    page.screenshot(path=str(tmp_path / "whole.png"), full_page=True)
    page.set_viewport_size({"width": 900, "height": 700})  # the window made smaller
    page.wait_for_timeout(2500)  # the old check ran every 2 s
    cdp = page.context.new_cdp_session(page)
    cdp.send(  # a zoom: more device pixels per CSS pixel
        "Emulation.setDeviceMetricsOverride",
        {"width": 0, "height": 0, "deviceScaleFactor": 1.5, "mobile": False},
    )
    # What docked developer tools, a browser side panel and a 125% zoom all look like from inside:
    # the inner width shrinks while the outer width stays.
    page.evaluate("""() => {
      const inner = window.innerWidth;
      Object.defineProperty(window, "innerWidth", {configurable: true, get: () => inner - 400});
      window.dispatchEvent(new Event("resize"));
    }""")
    page.wait_for_timeout(2500)
    assert events_after_a_marker(page, sitting) == []
    page.context.close()


def test_a_second_screen_is_reported_in_chromium(browser, fake_media, live_server_url, sitting):
    # Two screens from the start (Chromium's --screen-info): screen.isExtended is true. Launched
    # by the module's Playwright, which a second one in this thread could not run beside.
    video = f"--use-file-for-fake-video-capture={fake_media['video']}"
    chromium = browser.browser_type.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, video, TWO_SCREENS]
    )
    try:
        page = exam_page(chromium, live_server_url, sitting)
        assert page.evaluate("screen.isExtended") is True
        second = wait_until(
            lambda: ProctoringEvent.objects.filter(session=sitting, type="second-screen").first(),
            timeout=30,
            what="a second-screen event",
        )
        assert (second.severity, second.details) == ("high", {"screens": "extended"})
    finally:
        chromium.close()


def test_a_screen_plugged_in_during_the_exam_is_reported(browser, live_server_url, sitting):
    page = exam_page(browser, live_server_url, sitting)
    assert page.evaluate("screen.isExtended") is False
    cdp = page.context.new_cdp_session(page)
    cdp.send(  # a second monitor appears (Chromium's emulated screens)
        "Emulation.addScreen",
        {"left": 1280, "top": 0, "width": 1024, "height": 768, "label": "projector", "isInternal": False},
    )
    assert page.evaluate("screen.isExtended") is True
    wait_until(
        lambda: ProctoringEvent.objects.filter(session=sitting, type="second-screen").exists(),
        timeout=30,
        what="a second-screen event",
    )
    page.context.close()
