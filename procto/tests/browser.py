"""Real-browser testing: headless Debian Chromium driven by Playwright, a fake camera showing a
real face (skimage's astronaut) and a fake microphone speaking (espeak-ng), against daphne
serving the test's own PostgreSQL database and Redis.

Loaded as a pytest plugin from the root conftest; tests using `live_server_url` or `browser`
are marked `browser` and need DATABASE_URL and REDIS_URL (the server and the test share them).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from procto.tests.live_servers import (
    celery_worker_cmd,
    child_env,
    daphne_cmd,
    free_port,
    running,
    wait_for_http,
    wait_for_log,
)

CHROMIUM = os.environ.get("PROCTO_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# The fake UI answers every camera, microphone and screen-share request as a student granting it;
# with the fake devices, "the entire screen" is a 1280x720 test pattern (headless has no screen).
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


# Every real-browser test module's `pytestmark`: the server it drives shares the test's
# PostgreSQL and Redis, runs as its own process (slow), and checks passwords there with the
# production hashers (real_hashers), not the suite's fast one.
BROWSER_TEST_MARKS = [
    pytest.mark.browser,
    pytest.mark.needs_postgres,
    pytest.mark.needs_redis,
    pytest.mark.slow,
    pytest.mark.real_hashers,
]

# What Chromium refused under the Content-Security-Policy, in any page of any browser test: a
# script or style the policy blocks is a page that silently does less, so each test fails on it.
CSP_VIOLATIONS: list[str] = []


def _note_csp_violation(message) -> None:
    if "Content Security Policy" in message.text:
        CSP_VIOLATIONS.append(f"{message.location.get('url', '?')}: {message.text}")


def _watch_for_csp_violations(chromium) -> None:
    open_context, open_page = chromium.new_context, chromium.new_page

    def new_context(**kwargs):
        context = open_context(**kwargs)
        context.on("console", _note_csp_violation)
        return context

    def new_page(**kwargs):
        page = open_page(**kwargs)
        page.on("console", _note_csp_violation)
        return page

    chromium.new_context, chromium.new_page = new_context, new_page


@pytest.fixture(autouse=True)
def _no_csp_violations():
    CSP_VIOLATIONS.clear()
    yield
    assert not CSP_VIOLATIONS, "the Content-Security-Policy blocked:\n" + "\n".join(CSP_VIOLATIONS)


@contextlib.contextmanager
def chromium_launched(*, video: Path, audio: Path | None = None, extra_args: Sequence[str] = ()) -> Iterator:
    """Headless Chromium whose fake camera plays `video` (and microphone `audio`); `extra_args`
    come last, so a switch given again there wins (`--use-fake-ui-for-media-stream=deny`)."""
    from playwright.sync_api import sync_playwright

    args = [*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={video}"]
    if audio:
        args.append(f"--use-file-for-fake-audio-capture={audio}")
    args += extra_args
    # Playwright's sync API keeps an event loop in this thread; the ORM calls the test makes
    # between browser steps are ordinary blocking calls, so Django's async guard is lifted.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
            _watch_for_csp_violations(chromium)
            yield chromium
            chromium.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


# Per module: Playwright's sync API keeps an event loop running in this thread until it stops,
# and async tests that run afterwards need the thread to themselves.
@pytest.fixture(scope="module")
def browser(fake_media):
    with chromium_launched(video=fake_media["video"], audio=fake_media["audio"]) as chromium:
        yield chromium


def in_thread(action: Callable, *args, **kwargs):
    """Run ORM and channel-layer code off this thread, where Playwright's event loop lives."""
    from django.db import connections

    def run():
        try:
            return action(*args, **kwargs)
        finally:
            connections.close_all()  # this thread's own: the test database is dropped later

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def wait_until(check: Callable, *, timeout: float = 20.0, what: str = "condition"):
    """Poll `check` until it returns something true, and return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def page_wait(page, expression: str, *, timeout: float = 20.0, what: str = "condition"):
    """Poll a JavaScript expression (or function) in `page` until it is true, and return it.

    Not page.wait_for_function: its polls `eval` the predicate in the page, which the pages' CSP
    (script-src 'self') refuses whenever the first look is false. page.evaluate runs through the
    DevTools protocol, which the CSP does not govern.
    """
    return wait_until(lambda: page.evaluate(expression), timeout=timeout, what=what)


@contextlib.contextmanager
def live_stack(tmp_path: Path, settings, *, worker: bool = False) -> Iterator[str]:
    """daphne on a free port (and, with `worker`, a Celery worker on every queue) sharing the
    test's database and Redis, media in tmp_path; yields the base URL."""
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
    with contextlib.ExitStack() as stack:
        daphne = stack.enter_context(running(daphne_cmd(port), env=env, log=tmp_path / "daphne.log"))
        if worker:
            log = tmp_path / "worker.log"
            celery = stack.enter_context(
                running(celery_worker_cmd("frames", "audio", "default"), env=env, log=log)
            )
            wait_for_log(log, " ready.", process=celery, timeout=60)
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process=daphne)
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def live_server_url(tmp_path, transactional_db, settings):
    """daphne on a free port, on the test's database and Redis, with media in tmp_path."""
    with live_stack(tmp_path, settings) as url:
        yield url


def screenshot(page, name: str) -> None:
    """Save a full-page screenshot for the README (docs/screenshots/<name>.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def log_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    # The login form's own button: the header's language picker has submit buttons too.
    page.locator("form:has(input[name=username]) button[type=submit]").click()
    page.wait_for_url(f"{base_url}/")


@pytest.fixture
def still_camera_chromium(tmp_path):
    """Chromium whose fake camera shows a still picture of a real face, for tests about pages
    rather than the analysis."""
    from proctoring.tests import faces

    with chromium_launched(video=write_y4m(tmp_path / "still.y4m", faces.astronaut())) as chromium:
        yield chromium


# axe-core (static/vendor/axe-core), the accessibility rules engine: the impacts a page must not
# have. "moderate" and "minor" are reported by axe too, but are not what the issue measures.
AXE_SCRIPT = Path(__file__).resolve().parents[2] / "static" / "vendor" / "axe-core" / "axe.min.js"
AXE_BLOCKING = ("serious", "critical")
# WCAG 2.1 A and AA, and axe's best practices (landmarks, one main, headings); not AAA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def axe_violations(page, *, impacts: Sequence[str] = AXE_BLOCKING) -> list[str]:
    """Run axe-core on `page` as it is now; one line per element of every violation of `impacts`:
    rule id, CSS target and the rule's help, with axe's summary of what is wrong."""
    # Evaluated over the DevTools protocol rather than as a <script>: the site's CSP admits no
    # inline script, and the test must not weaken it.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT.read_text())
    results = page.evaluate(
        """(tags) => axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})
             .then((r) => r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
               nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary}))})))""",
        AXE_TAGS,
    )
    return [
        f"{v['id']} ({v['impact']}) at {node['target']}: {v['help']}. "
        + " ".join(node["summary"].split())[:300]
        for v in results
        if v["impact"] in impacts
        for node in v["nodes"]
    ]


def axe_check(page, *, known: Sequence[str] = ()) -> None:
    """Fail, listing each one, on a serious or critical axe-core violation on `page`; `known` names
    rule ids tolerated on this page (each a documented known failure, never a silent one)."""
    found = [line for line in axe_violations(page) if line.split(" ", 1)[0] not in known]
    assert not found, f"{page.url}: {len(found)} serious/critical accessibility violations:\n" + "\n".join(
        found
    )
