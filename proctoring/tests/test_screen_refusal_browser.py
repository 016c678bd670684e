"""Refusing to share the screen, in real headless Chromium (issue 14, item 5; docs/PROTOCOL.md,
"Screen capture").

The refusal is Chromium's own: launched with `--use-fake-ui-for-media-stream=deny`, its fake UI
denies the request and getDisplayMedia rejects with NotAllowedError, as when a student cancels
the picker. (Headless, `--auto-reject-capture` does nothing: no picker is shown, the request
waits.) The switch denies the camera too, so the refusing student is one exempt from camera and
microphone, who still shares the screen. A module of its own: its Chromium, launched with the
switch, cannot run beside another module's in one thread.
"""

from __future__ import annotations

import pytest

from procto.tests.browser import BROWSER_TEST_MARKS, chromium_launched, in_thread, wait_until, write_y4m
from proctoring.models import ProctoringEvent
from proctoring.tests import faces
from proctoring.tests.test_screen_browser import open_exam, screenshots_of, sitting_build
from sessions.tests.test_exam_browser import panel

pytestmark = BROWSER_TEST_MARKS


@pytest.fixture(scope="module")
def refusing_browser(tmp_path_factory):
    """Chromium whose (fake) picker denies every capture, as a student cancelling it."""
    video = tmp_path_factory.mktemp("refusing") / "still.y4m"
    with chromium_launched(
        video=write_y4m(video, faces.astronaut()), extra_args=["--use-fake-ui-for-media-stream=deny"]
    ) as chromium:
        yield chromium


@pytest.mark.parametrize(
    ("security_level", "enforced"),
    [pytest.param("medium", False, id="medium"), pytest.param("high", True, id="high")],
)
def test_refusing_the_share_is_an_event(
    refusing_browser, live_server_url, transactional_world, security_level, enforced
):
    session = in_thread(sitting_build, transactional_world, security_level=security_level, exempt=True)
    page = open_exam(refusing_browser, live_server_url, session, camera=False)
    page.click("#screen-share")
    page.locator("#screen-error:not([hidden])").wait_for()
    refused = wait_until(
        lambda: ProctoringEvent.objects.filter(session=session, type="screen-share-refused").first(),
        timeout=20,
        what="the refusal",
    )
    assert (refused.severity, refused.review_status, refused.source) == ("high", "open", "client")
    assert refused.details["reason"] == "NotAllowedError"
    assert page.locator("#screen-state").get_attribute("data-state") == "offline"
    if enforced:
        # The exam stays behind the gate; trying again and failing again is the same lapse.
        assert page.locator("#screen-skip").is_hidden()
        page.click("#screen-share")
        page.wait_for_timeout(1000)
        assert page.locator("#screen-gate[open]").count() == 1
    else:
        page.click("#screen-skip")
        panel(page, "MCQ").wait_for()
        page.locator("#screen-missing:not([hidden])").wait_for()
    assert ProctoringEvent.objects.filter(session=session, type="screen-share-refused").count() == 1
    assert not screenshots_of(session)
    assert not page.errors, page.errors
    page.context.close()
