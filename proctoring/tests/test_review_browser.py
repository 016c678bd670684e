"""The room scan on the session review page, in real Chromium: a MediaRecorder recording (no
duration in its WebM) shows its real length and can be sought, through daphne's range answers."""

from __future__ import annotations

import base64

from accounts.tests.factories import DEFAULT_PASSWORD
from procto.encrypted_files import store_encrypted
from procto.tests.browser import (
    BROWSER_TEST_MARKS,
    in_thread,
    live_stack,
    log_in,
    wait_until,
)

pytestmark = BROWSER_TEST_MARKS

# What the room-scan page does, on a canvas instead of the camera: 2.5 s of MediaRecorder WebM.
RECORD = """async () => {
  const canvas = Object.assign(document.createElement("canvas"), { width: 160, height: 120 });
  const paint = canvas.getContext("2d");
  const stream = canvas.captureStream(15);
  const recorder = new MediaRecorder(stream, { mimeType: "video/webm" });
  const chunks = [];
  recorder.ondataavailable = (e) => chunks.push(e.data);
  const stopped = new Promise((resolve) => (recorder.onstop = resolve));
  recorder.start(500);
  const began = performance.now();
  while (performance.now() - began < 2500) {
    paint.fillStyle = `hsl(${(performance.now() / 10) % 360}, 80%, 50%)`;
    paint.fillRect(0, 0, 160, 120);
    await new Promise((r) => setTimeout(r, 50));
  }
  recorder.stop();
  await stopped;
  const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}"""


def test_a_recorded_room_scan_shows_its_length_and_can_be_sought(
    still_camera_chromium, tmp_path, transactional_world, settings, monkeypatch
):
    world = transactional_world
    # daphne must decrypt what this process encrypts: the same key, not one of its own.
    monkeypatch.setenv("ENCRYPTION_KEY", settings.ENCRYPTION_KEY.hex())
    with live_stack(tmp_path, settings) as url:
        page = still_camera_chromium.new_context().new_page()
        page.goto(f"{url}/accounts/login/")
        webm = base64.b64decode(page.evaluate(RECORD))
        assert webm[:4] == b"\x1a\x45\xdf\xa3"

        def room_scan_store():
            # Stu's room scan in physics; Tess, who wrote the exam, reviews his session.
            session = world.stu_in_physics
            session.room_scan = store_encrypted(webm, folder="room-scans")
            session.save(update_fields=["room_scan"])
            return session

        session, teacher = in_thread(room_scan_store), world.tess
        log_in(page, url, teacher.email, DEFAULT_PASSWORD)
        page.goto(f"{url}/proctoring/sessions/{session.pk}/")
        video = page.locator("video.room-scan")
        duration = wait_until(
            lambda: video.evaluate("v => Number.isFinite(v.duration) && v.duration > 0 && v.duration"),
            what="the room scan's length",
        )
        assert 2.0 <= duration <= 3.5, duration
        assert video.evaluate("v => v.currentTime") == 0  # back at the start, ready to play
        video.evaluate("v => { v.currentTime = 1.5; }")
        sought = "v => !v.seeking && Math.abs(v.currentTime - 1.5) < 0.3"
        wait_until(lambda: video.evaluate(sought), what="a seek")
