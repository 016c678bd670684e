"""Procto inside the LMS's iframe, in real headless Chromium.

The LMS is the simulated platform of test_lti.py, its pages served at http://localhost:<port>;
Procto is daphne over HTTPS (a self-signed certificate) at https://127.0.0.1:<port>, with
LTI_IFRAME_COOKIES on. localhost and 127.0.0.1 are different sites, so Procto inside the LMS's
page is a third-party iframe with the browser's real third-party cookie rules:

- a regular Chromium profile (third-party cookies allowed, Chrome's default for normal windows):
  the student opens the exam inside the LMS's page and lands on it there, signed in; the system
  check passes inside the frame when the LMS grants the camera (allow="camera; microphone"), and
  offers a new window, which opens signed in, when it does not (Moodle's default);
- an incognito context (Chromium blocks third-party cookies there, as Safari does everywhere):
  the LTI login's cookie check offers a new window, and the exam opens there, signed in.
Procto's pages framed by an origin the LMS registration does not name are refused.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import time
from html import escape
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from procto.tests.browser import (
    BROWSER_TEST_MARKS,
    CHROMIUM,
    CHROMIUM_ARGS,
    CSP_VIOLATIONS,
    in_thread,
)
from procto.tests.live_servers import PYTHON, child_env, free_port, running
from sessions.models import LtiContext
from sessions.tests.test_lti import (
    CLAIM,
    CLIENT_ID,
    DEPLOYMENT,
    ISSUER,
    LEARNER,
    SimulatedPlatform,
    platform_register,
)

pytestmark = BROWSER_TEST_MARKS

# Chrome's "Allow third-party cookies" setting (profile.cookie_controls_mode: 0 allow, 1 block in
# incognito, the default, 2 block), written into a fresh profile before Chromium starts.
ALLOW_THIRD_PARTY_COOKIES = {"profile": {"cookie_controls_mode": 0}}


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert, private = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert, private


@pytest.fixture
def tool_url(tmp_path, transactional_db, settings):
    """daphne serving Procto over HTTPS on 127.0.0.1, on the test's database and Redis."""
    from django.db import connection

    cert, key = self_signed_certificate(tmp_path)
    database_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{connection.settings_dict['NAME']}"
    settings.MEDIA_ROOT = tmp_path / "media"
    port = free_port()
    env = child_env(
        DATABASE_URL=database_url,
        PROCTO_LOCAL_DIR=str(tmp_path / "local"),
        MEDIA_ROOT=str(tmp_path / "media"),
        DJANGO_DEBUG="1",
        LTI_IFRAME_COOKIES="1",
    )
    endpoint = f"ssl:{port}:interface=127.0.0.1:privateKey={key}:certKey={cert}"
    cmd = [PYTHON, "-m", "daphne", "-e", endpoint, "procto.asgi:application"]
    with running(cmd, env=env, log=tmp_path / "daphne.log") as daphne:
        url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert daphne.poll() is None, (tmp_path / "daphne.log").read_text()
            try:
                requests.get(f"{url}/healthz", verify=str(cert), timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "daphne over TLS did not answer"
                time.sleep(0.2)
        yield url


@pytest.fixture
def lms(transactional_world, tool_url, monkeypatch):
    """The simulated LMS at http://localhost:<port>: a course page that shows the Procto link in
    an iframe (`/course?allow=...` sets the iframe's allow attribute), the page inside it that
    posts the login initiation to Procto (as Moodle does), and the OIDC auth endpoint."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    simulated = SimulatedPlatform()
    port = simulated.server.server_port
    simulated.base = f"http://localhost:{port}"
    registration = in_thread(platform_register, simulated, auth_base=simulated.base)
    exam = transactional_world.chemistry  # medium security: camera, microphone, full screen
    in_thread(
        lambda: LtiContext.objects.create(
            platform=registration, context_id="lms-course-7", course=exam.course
        )
    )
    simulated.exam = exam

    def course(handler, body):
        allow = handler.path.partition("allow=")[2].replace("+", " ").replace("%3B", ";")
        html = (
            "<h1>Chemistry, autumn</h1>"
            f'<iframe name="tool" src="/launch-frame" allow="{escape(allow)}"'
            ' width="1100" height="900"></iframe>'
        )
        return 200, "text/html", html.encode()

    def launch_frame(handler, body):
        fields = {
            "iss": ISSUER,
            "login_hint": "lena",
            "lti_message_hint": "link-1",
            "target_link_uri": f"{tool_url}/lti/launch",
            "client_id": CLIENT_ID,
            "lti_deployment_id": DEPLOYMENT,
        }
        inputs = "".join(f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in fields.items())
        html = (
            f'<form id="f" method="post" action="{tool_url}/lti/login">{inputs}</form>'
            '<script>document.getElementById("f").submit()</script>'
        )
        return 200, "text/html", html.encode()

    simulated.routes[("GET", "/course")] = course
    simulated.routes[("GET", "/launch-frame")] = launch_frame
    simulated.authorize = lambda auth: simulated.id_token(
        auth,
        sub="lms-lena",
        roles=[LEARNER],
        email="lena@lms.example",
        given_name="Lena",
        **{CLAIM + "custom": {"procto_exam_id": str(exam.pk)}},
    )
    yield simulated
    simulated.close()


def _note_csp_violation(message) -> None:
    if "Content Security Policy" in message.text:
        CSP_VIOLATIONS.append(f"{message.location.get('url', '?')}: {message.text}")


@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # ORM calls between browser steps, as browser.py
    try:
        with sync_playwright() as running_playwright:
            yield running_playwright
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


def _media_args(fake_media) -> list[str]:
    return [
        *CHROMIUM_ARGS,
        f"--use-file-for-fake-video-capture={fake_media['video']}",
        f"--use-file-for-fake-audio-capture={fake_media['audio']}",
    ]


@pytest.fixture
def regular_profile(playwright, fake_media, tmp_path):
    """Chromium with a normal (not incognito) profile that allows third-party cookies."""
    profile = tmp_path / "profile"
    (profile / "Default").mkdir(parents=True)
    (profile / "Default" / "Preferences").write_text(json.dumps(ALLOW_THIRD_PARTY_COOKIES))
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        args=_media_args(fake_media),
        ignore_https_errors=True,
        viewport={"width": 1280, "height": 1000},
    )
    context.on("console", _note_csp_violation)
    yield context
    context.close()


@pytest.fixture
def incognito(playwright, fake_media):
    """Chromium's default context, incognito: third-party cookies blocked."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=_media_args(fake_media))
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 1000})
    context.on("console", _note_csp_violation)
    yield context
    context.close()
    browser.close()


def framed_tool(page):
    return page.frame(name="tool")


def wait_for_frame_url(page, url: str, timeout: float = 45.0):
    deadline = time.monotonic() + timeout
    while (frame := framed_tool(page)) is None or frame.url != url:
        if time.monotonic() > deadline:
            shown = frame.inner_text("body") if frame else "no frame"
            raise AssertionError(f"the iframe is at {frame and frame.url}, not {url}: {shown}")
        page.wait_for_timeout(100)
    frame.wait_for_load_state()
    return frame


def check_items(frame) -> dict[str, str]:
    """Each system check item's state and what it says, for assertion messages."""
    return frame.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.check-item')].map((item) =>
            [item.dataset.item, `${item.dataset.state}: ${item.innerText.replace(/\\s+/g, ' ')}`]))"""
    )


def wait_for_checks_passed(frame) -> None:
    try:
        frame.locator("#continue").wait_for(timeout=30_000)
    except Exception as error:
        raise AssertionError(f"the system check did not pass: {check_items(frame)}") from error


def test_a_student_opens_the_exam_inside_the_lms_page_and_passes_the_system_check_there(
    regular_profile, lms, tool_url
):
    exam = lms.exam
    page = regular_profile.new_page()
    page.goto(f"{lms.base}/course?allow=camera+*;+microphone+*;+fullscreen+*")

    frame = wait_for_frame_url(page, f"{tool_url}/exams/{exam.pk}/consent/")
    assert frame.get_by_role("heading", name=f"{exam.title}: what is recorded").is_visible()
    assert frame.get_by_text("Lena").first.is_visible()  # signed in by the launch, in the frame
    frame.get_by_role("button", name="I agree, continue").click()

    frame = wait_for_frame_url(page, f"{tool_url}/exams/{exam.pk}/check/")
    wait_for_checks_passed(frame)  # every check, inside the frame
    for item in ("camera", "microphone", "fullscreen", "websocket"):
        assert frame.locator(f'.check-item[data-item="{item}"]').get_attribute("data-state") == "pass"
    assert frame.locator("#new-window").is_hidden()
    cookies = {c["name"]: c for c in regular_profile.cookies(tool_url)}
    assert (cookies["sessionid"]["sameSite"], cookies["sessionid"]["secure"]) == ("None", True)

    # The same page framed by an origin the registration does not name (the LMS's server under
    # another host name) is refused by the browser: no Procto page inside it.
    other = regular_profile.new_page()
    other.goto(f"http://127.0.0.1:{lms.server.server_port}/course?allow=camera")
    other.evaluate(f"document.querySelector('iframe').src = '{tool_url}/exams/{exam.pk}/check/'")
    deadline = time.monotonic() + 10
    while not any("frame-ancestors" in v for v in CSP_VIOLATIONS):
        assert time.monotonic() < deadline, "Chromium did not refuse the frame"
        other.wait_for_timeout(100)
    assert framed_tool(other).locator("#check-list").count() == 0
    CSP_VIOLATIONS.clear()  # the refusal was the point


def test_without_camera_in_the_lms_iframe_the_check_opens_the_exam_in_a_new_window_signed_in(
    regular_profile, lms, tool_url
):
    exam = lms.exam
    page = regular_profile.new_page()
    page.goto(f"{lms.base}/course?allow=")  # Moodle's iframe: no camera, microphone, full screen
    frame = wait_for_frame_url(page, f"{tool_url}/exams/{exam.pk}/consent/")
    frame.get_by_role("button", name="I agree, continue").click()
    frame = wait_for_frame_url(page, f"{tool_url}/exams/{exam.pk}/check/")

    offer = frame.get_by_role("link", name="Open the exam in a new window")
    offer.wait_for(timeout=30_000)
    frame.locator('.check-item[data-item="camera"][data-state="fail"]').wait_for(timeout=30_000)
    assert (
        "Open the exam in a new window"
        in frame.locator('.check-item[data-item="camera"] .check-fix').inner_text()
    )
    with page.expect_popup() as opened:
        offer.click()
    window = opened.value
    window.wait_for_url(f"{tool_url}/exams/{exam.pk}/check/")
    wait_for_checks_passed(window)  # the camera works in a window of its own
    assert window.locator('.check-item[data-item="camera"]').get_attribute("data-state") == "pass"
    assert window.get_by_text("Lena").first.is_visible()
    assert frame.get_by_text("The exam is open in a new window").is_visible()


def test_a_browser_blocking_third_party_cookies_opens_the_exam_in_a_new_window_signed_in(
    incognito, lms, tool_url
):
    exam = lms.exam
    page = incognito.new_page()
    page.goto(f"{lms.base}/course?allow=camera+*;+microphone+*;+fullscreen+*")
    deadline = time.monotonic() + 20
    while (frame := framed_tool(page)) is None or not frame.url.startswith(f"{tool_url}/lti/login"):
        assert time.monotonic() < deadline
        page.wait_for_timeout(100)
    offer = frame.get_by_role("link", name="Open in a new window")
    offer.wait_for(timeout=10_000)
    assert frame.get_by_text("does not let Procto keep you signed in").is_visible()

    with page.expect_popup() as opened:
        offer.click()
    window = opened.value
    window.wait_for_url(f"{tool_url}/exams/{exam.pk}/consent/", timeout=20_000)
    assert window.get_by_role("heading", name=f"{exam.title}: what is recorded").is_visible()
    assert window.get_by_text("Lena").first.is_visible()
    assert frame.get_by_text("Procto is open in a new window").is_visible()
