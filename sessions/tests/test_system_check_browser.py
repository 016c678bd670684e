"""The system check page (static/js/precheck.js) in real Chromium: a check passes on what it
measured, not on a request that failed or a microphone that is merely on."""

from __future__ import annotations

import wave

import numpy as np

from accounts.tests.factories import DEFAULT_PASSWORD
from procto.tests.browser import BROWSER_TEST_MARKS, chromium_launched, in_thread, log_in, write_y4m
from procto.tests.test_api_client_browser import high_level_exam_consented_to
from sessions.models import SystemCheck

pytestmark = BROWSER_TEST_MARKS


def write_hiss_wav(path, *, seconds: float = 2.0, dbfs: float = -66.0):
    """A live microphone in a quiet room with nobody speaking: faint white noise, 48 kHz mono."""
    rng = np.random.default_rng(7)
    samples = rng.normal(0, 10 ** (dbfs / 20), int(48_000 * seconds))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(48_000)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def item(page, name: str):
    return page.locator(f'.check-item[data-item="{name}"]')


def test_a_failing_speed_probe_and_a_silent_microphone_fail_and_say_what_to_do(
    tmp_path, live_server_url, transactional_world
):
    from proctoring.tests import faces

    student = transactional_world.stu
    exam = in_thread(high_level_exam_consented_to, transactional_world, student)
    video = write_y4m(tmp_path / "still.y4m", faces.astronaut())
    with chromium_launched(video=video, audio=write_hiss_wav(tmp_path / "hiss.wav")) as chromium:
        context = chromium.new_context(permissions=["camera", "microphone"])
        page = context.new_page()
        log_in(page, live_server_url, student.email, DEFAULT_PASSWORD)
        # The probe fails as a broken proxy or an overloaded server would. precheck.js timed the
        # failed answer as an upload and passed ("About 66,366 kbit/s up… Passed").
        page.route("**/api/system-check/bandwidth", lambda route: route.fulfill(status=503, body=""))
        page.goto(f"{live_server_url}/exams/{exam.pk}/check/")

        # While it listens, the page asks the student to speak.
        prompt = page.locator("#mic-prompt")
        prompt.wait_for(timeout=20_000)
        assert "Say something" in prompt.inner_text()
        assert "Say something" in item(page, "microphone").locator(".check-detail").inner_text()

        page.locator("#check-summary", has_text="did not pass").wait_for(timeout=40_000)
        bandwidth = item(page, "bandwidth")
        assert bandwidth.get_attribute("data-state") == "fail"
        assert "Procto answered 503" in bandwidth.locator(".check-detail").inner_text()
        assert "press Re-check" in bandwidth.locator(".check-fix").inner_text()

        # A live track whose level never rises above the room's noise is no working microphone.
        microphone = item(page, "microphone")
        assert microphone.get_attribute("data-state") == "fail"
        assert "heard nothing" in microphone.locator(".check-detail").inner_text()
        assert "speak" in microphone.locator(".check-fix").inner_text()

        summary = page.locator("#check-summary").inner_text()
        assert "Upload speed" in summary and "Microphone" in summary
        assert page.locator("#continue").is_hidden()
        for name in ("browser", "websocket", "camera", "fullscreen"):
            assert item(page, name).get_attribute("data-state") == "pass", name
        assert not in_thread(lambda: SystemCheck.objects.filter(user=student, exam=exam).exists())
        context.close()
