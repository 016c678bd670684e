"""Screen capture in real headless Chromium (issue 14, item 5; docs/PROTOCOL.md, "Screen capture").

Chromium 156 headless shares "the entire screen" with `--use-fake-ui-for-media-stream` and
`--use-fake-device-for-media-stream` (procto.tests.browser.CHROMIUM_ARGS): its picker is answered
by the fake UI, which picks a screen (displaySurface "monitor", 1280x720, a test pattern: headless
has no real screen). `--auto-select-desktop-capture-source` and `--auto-reject-capture` do nothing
headless (no picker is ever shown; the request waits). Refusing: test_screen_refusal_browser.py.
"""

from __future__ import annotations

import io
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from PIL import Image

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD
from exams.demo import _demo_questions
from exams.models import Accommodation
from exams.services import exam_create
from procto.tests.browser import BROWSER_TEST_MARKS, in_thread, log_in, page_wait, wait_until
from proctoring.models import ProctoringEvent
from proctoring.services import event_record, session_lock
from sessions import readiness
from sessions.services import exam_session_start
from sessions.tests.test_exam_browser import panel

pytestmark = BROWSER_TEST_MARKS

ITEMS = {
    "browser": True,
    "websocket": True,
    "camera": True,
    "microphone": True,
    "fullscreen": True,
    "screen": True,
}

# The test keeps the streams getDisplayMedia returns, to end one as the browser's "Stop sharing"
# button does (the track ends, its `ended` event fires): a page cannot be made to press it.
KEEP_SHARES = """
(() => {
  const share = navigator.mediaDevices.getDisplayMedia.bind(navigator.mediaDevices);
  window.__shares = [];
  navigator.mediaDevices.getDisplayMedia = async (options) => {
    const stream = await share(options);
    window.__shares.push(stream);
    return stream;
  };
})();
"""
ALL_DECODED = """() => [...document.querySelectorAll("#screen-gallery img")]
  .every((image) => image.complete && image.naturalWidth === 1280)"""
STOP_SHARING = """() => {
  const track = window.__shares.at(-1).getVideoTracks()[0];
  track.stop();
  track.dispatchEvent(new Event("ended"));
}"""


def sitting_build(world, *, security_level: str, lapse: str = "block", exempt: bool = False):
    """Stu sitting a physics quiz that captures the screen every 10 s (consent and system check
    done as the pages would have done them)."""
    now = timezone.now()
    exam = exam_create(
        author=world.tess,
        course=world.physics.course,
        title="Physics quiz",
        duration_minutes=30,
        start_time=now - timedelta(minutes=5),
        end_time=now + timedelta(hours=2),
        is_published=True,
        security_level=security_level,
        questions=_demo_questions(),
    )
    exam.screen_capture, exam.screenshot_interval_seconds, exam.screen_share_lapse = True, 10, lapse
    exam.save()
    exam.proctors.add(world.pat)
    if exempt:
        Accommodation.objects.create(exam=exam, student=world.stu, media_exempt=True)
    if security_level == "high":  # a verified identity (an exempt student needs no check before)
        User.objects.filter(pk=world.stu.pk).update(is_verified=True, verified_at=now)
        world.stu.refresh_from_db()
    readiness.consent_record(exam=exam, student=world.stu)
    readiness.system_check_record(exam=exam, student=world.stu, items=ITEMS, measurements={})
    session, _ = exam_session_start(exam=exam, student=world.stu)
    return session


def open_exam(chromium, base_url: str, session, *, camera: bool = True):
    context = chromium.new_context(
        viewport={"width": 1280, "height": 900}, permissions=["camera", "microphone"] if camera else []
    )
    context.add_init_script(KEEP_SHARES)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    log_in(page, base_url, session.student.email, DEFAULT_PASSWORD)
    page.goto(f"{base_url}/sessions/{session.pk}/take/")
    page.locator("#screen-gate[open]").wait_for()
    return page


def screenshots_of(session):
    return list(ProctoringEvent.objects.filter(session=session, type="screenshot-captured").order_by("pk"))


def high_alert(session) -> ProctoringEvent:
    with transaction.atomic():
        event, _ = event_record(
            session=session_lock(session.pk),
            type="multiple-faces",
            source="server",
            occurred_at=timezone.now(),
        )
    return event


def test_a_shared_screen_is_captured_and_its_screenshots_appear_on_the_review_page(
    browser, live_server_url, transactional_world
):
    session = in_thread(sitting_build, transactional_world, security_level="medium")
    page = open_exam(browser, live_server_url, session)
    page.click("#screen-share")
    page.locator("#screen-state[data-state=live]").wait_for(timeout=10_000)
    page.click("#fullscreen-enter")  # the fullscreen gate waited under the share's
    panel(page, "MCQ").wait_for()
    page.locator("#connection-state[data-state=live]").wait_for(timeout=20_000)

    # The share's start is a screenshot and a record; a high-severity alert asks for another.
    wait_until(lambda: screenshots_of(session), timeout=20, what="the first screenshot")
    alert = in_thread(high_alert, session)
    at_alert = wait_until(
        lambda: [e for e in screenshots_of(session) if e.details.get("alertId") == alert.pk],
        timeout=20,
        what="the screenshot at the alert",
    )[0]
    # And the interval's (10 s at this exam).
    wait_until(
        lambda: any(e.details["trigger"] == "interval" for e in screenshots_of(session)),
        timeout=30,
        what="a screenshot on the interval",
    )
    started = ProctoringEvent.objects.get(session=session, type="screen-share-started")
    assert (started.details["surface"], started.severity) == ("monitor", "info")
    shots = screenshots_of(session)
    assert [e.details["trigger"] for e in shots][:1] == ["start"]
    for event in shots:
        assert (event.details["format"], event.details["width"], event.details["height"]) == (
            "webp",
            1280,
            720,
        )
        assert event.details["bytes"] < 100_000
    assert at_alert.details["alertType"] == "multiple-faces"
    assert not page.errors, page.errors

    # The proctor's review page: the screen gallery, each picture decoded by the browser, and the
    # records on the event list (the timeline draws the same events).
    proctor = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    log_in(proctor, live_server_url, transactional_world.pat.email, DEFAULT_PASSWORD)
    proctor.goto(f"{live_server_url}/proctoring/sessions/{session.pk}/")
    gallery = proctor.locator("#screen-gallery img")
    assert gallery.count() == len(screenshots_of(session)) >= 3
    page_wait(proctor, ALL_DECODED, what="every screenshot decoded")
    assert (
        proctor.locator(f'#screen-gallery li[data-event-id="{at_alert.pk}"]')
        .inner_text()
        .startswith(f"At alert #{alert.pk}")
    )
    assert proctor.locator('#event-table tr[data-type="screenshot-captured"]').count() == gallery.count()
    assert proctor.locator('#filter-type option[value="screenshot-captured"]').count() == 1
    # What the server sends is the picture the page took: WebP, the screen downscaled to 1280.
    served = proctor.context.request.get(f"{live_server_url}/proctoring/events/{at_alert.pk}/snapshot.jpg")
    assert served.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(served.body())).size == (1280, 720)
    proctor.context.close()
    page.context.close()


def test_stopping_the_share_at_high_security_hides_the_exam_until_it_is_shared_again(
    browser, live_server_url, transactional_world
):
    session = in_thread(sitting_build, transactional_world, security_level="high", exempt=True)
    page = open_exam(browser, live_server_url, session, camera=False)
    assert page.locator("#screen-skip").is_hidden()  # enforced: no going on without it
    page.click("#screen-share")
    page.locator("#screen-state[data-state=live]").wait_for(timeout=10_000)
    page.click("#fullscreen-enter")
    panel(page, "MCQ").wait_for()

    page.evaluate(STOP_SHARING)
    page.locator("#screen-gate[open]").wait_for()
    page.keyboard.press("Escape")  # the gate does not go
    page.wait_for_timeout(300)
    assert page.locator("#screen-gate[open]").count() == 1
    stopped = wait_until(
        lambda: ProctoringEvent.objects.filter(session=session, type="screen-share-stopped").first(),
        timeout=20,
        what="the stop",
    )
    assert (stopped.severity, stopped.review_status) == ("high", "open")

    page.click("#screen-share")
    page.locator("#screen-gate:not([open])").wait_for(state="attached")
    wait_until(
        lambda: ProctoringEvent.objects.filter(session=session, type="screen-share-started").count() == 2,
        timeout=20,
        what="the share again",
    )
    assert not page.errors, page.errors
    page.context.close()


# The browser's picker is a dialog of its own: while the student chooses, the exam page has lost
# the focus. Headless Chromium answers at once and shows none, so the test has the picker take
# the focus for 1.5 s the way a real one does (the window's blur, then its focus back).
PICKER_TAKES_THE_FOCUS = """
(() => {
  const share = navigator.mediaDevices.getDisplayMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getDisplayMedia = async (options) => {
    window.dispatchEvent(new Event("blur"));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    window.dispatchEvent(new Event("focus"));
    return share(options);
  };
})();
"""
BLUR_FOR_A_WHILE = """async () => {
  window.dispatchEvent(new Event("blur"));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  window.dispatchEvent(new Event("focus"));
}"""


def test_the_share_s_own_picker_taking_the_focus_is_no_window_blur(
    browser, live_server_url, transactional_world
):
    session = in_thread(sitting_build, transactional_world, security_level="medium")
    page = open_exam(browser, live_server_url, session)
    page.context.add_init_script(PICKER_TAKES_THE_FOCUS)
    page.reload()
    page.locator("#screen-gate[open]").wait_for()
    page.click("#screen-share")
    page.locator("#screen-state[data-state=live]").wait_for(timeout=10_000)
    page.click("#fullscreen-enter")
    panel(page, "MCQ").wait_for()
    page.evaluate(BLUR_FOR_A_WHILE)  # the student in another window: that one counts
    blur = wait_until(
        lambda: ProctoringEvent.objects.filter(session=session, type="window-blur").first(),
        timeout=20,
        what="the window blur",
    )
    assert ProctoringEvent.objects.filter(session=session, type="window-blur").count() == 1
    assert ProctoringEvent.objects.filter(session=session, type="screen-share-started").exists()
    assert (
        blur.occurred_at
        > ProctoringEvent.objects.get(session=session, type="screen-share-started").occurred_at
    )
    assert not page.errors, page.errors
    page.context.close()


def test_the_system_check_of_an_exam_that_captures_the_screen_checks_the_browser_can_share_it(
    browser, live_server_url, transactional_world
):
    session = in_thread(sitting_build, transactional_world, security_level="medium")
    page = browser.new_context(permissions=["camera", "microphone"]).new_page()
    log_in(page, live_server_url, session.student.email, DEFAULT_PASSWORD)
    page.goto(f"{live_server_url}/exams/{session.exam_id}/check/")
    item = page.locator('.check-item[data-item="screen"]')
    item.locator("xpath=self::*[@data-state='pass']").wait_for(timeout=30_000)
    assert "can share your entire screen" in item.inner_text()
    page.goto(f"{live_server_url}/exams/{transactional_world.physics.pk}/check/")  # no screen capture
    page.locator('.check-item[data-item="screen"][data-state="skip"]').wait_for(timeout=30_000)
    page.context.close()
