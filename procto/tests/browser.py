"""Real-browser testing: headless Debian Chromium driven by Playwright, a fake camera showing a
real face (skimage's astronaut) and a fake microphone speaking (espeak-ng), against daphne
serving the test's own PostgreSQL database and Redis.

Loaded as a pytest plugin from the root conftest; tests using `live_server_url` or `browser`
are marked `browser` and need DATABASE_URL and REDIS_URL (the server and the test share them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from procto.tests.live_servers import child_env, daphne_cmd, free_port, running, wait_for_http

CHROMIUM = os.environ.get("PROCTO_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


def write_y4m(path: Path, rgb: np.ndarray, *, frames: int = 30, size=(640, 480)) -> Path:
    """A YUV4MPEG2 (4:2:0) video of one still picture, for --use-file-for-fake-video-capture."""
    image = Image.fromarray(rgb).convert("RGB").resize(size)
    y, cb, cr = (np.asarray(band) for band in image.convert("YCbCr").split())
    half = (size[0] // 2, size[1] // 2)
    u = np.asarray(Image.fromarray(cb).resize(half, Image.Resampling.BILINEAR))
    v = np.asarray(Image.fromarray(cr).resize(half, Image.Resampling.BILINEAR))
    frame = b"FRAME\n" + y.tobytes() + u.tobytes() + v.tobytes()
    header = f"YUV4MPEG2 W{size[0]} H{size[1]} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame * frames)
    return path


def write_speech_wav(path: Path, text: str) -> Path:
    """Speech from espeak-ng, as 48 kHz mono 16-bit WAV for --use-file-for-fake-audio-capture."""
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-w", str(raw), text], check=True, capture_output=True)
    subprocess.run(["sox", str(raw), "-r", "48000", "-c", "1", "-b", "16", str(path)], check=True)
    raw.unlink()
    return path


def _missing_tools() -> list[str]:
    return [tool for tool in (CHROMIUM, "espeak-ng", "sox") if not shutil.which(tool)]


@pytest.fixture(scope="session")
def fake_media(tmp_path_factory) -> dict[str, Path]:
    from proctoring.tests import faces

    missing = _missing_tools()
    if missing:
        pytest.fail(f"browser tests need {', '.join(missing)} (make test installs them with apt-get)")
    folder = tmp_path_factory.mktemp("fake-media")
    return {
        "video": write_y4m(folder / "astronaut.y4m", faces.astronaut()),
        "audio": write_speech_wav(folder / "speech.wav", "The answer to question one is Mercury."),
    }


# Per module: Playwright's sync API keeps an event loop running in this thread until it stops,
# and async tests that run afterwards need the thread to themselves.
@pytest.fixture(scope="module")
def browser(fake_media):
    from playwright.sync_api import sync_playwright

    args = [
        *CHROMIUM_ARGS,
        f"--use-file-for-fake-video-capture={fake_media['video']}",
        f"--use-file-for-fake-audio-capture={fake_media['audio']}",
    ]
    # Playwright's sync API keeps an event loop in this thread; the ORM calls the test makes
    # between browser steps are ordinary blocking calls, so Django's async guard is lifted.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        yield chromium
        chromium.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def live_server_url(tmp_path, transactional_db, settings):
    """daphne on a free port, on the test's database and Redis, with media in tmp_path."""
    from django.db import connection

    database_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{connection.settings_dict['NAME']}"
    settings.MEDIA_ROOT = tmp_path / "media"
    port = free_port()
    env = child_env(
        DATABASE_URL=database_url,
        PROCTO_LOCAL_DIR=str(tmp_path / "local"),
        MEDIA_ROOT=str(tmp_path / "media"),
        DJANGO_DEBUG="1",
    )
    with running(daphne_cmd(port), env=env, log=tmp_path / "daphne.log") as process:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process=process)
        yield f"http://127.0.0.1:{port}"


def screenshot(page, name: str) -> None:
    """Save a full-page screenshot for the README (docs/screenshots/<name>.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def log_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")
