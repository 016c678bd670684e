"""Procto inside the LMS's iframe (sessions.lti.iframe): which origins may frame which pages, the
cookies an LTI session gets over HTTPS, the cookie check at the LTI login, and a framed session's
move to a new window. Against the simulated platform of test_lti.py (real keys, JWKS over HTTP)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.tests.factories import DEFAULT_PASSWORD
from sessions.lti.iframe import SESSION_PLATFORM
from sessions.models import LtiContext, LtiPlatform, origin_of
from sessions.tests import test_lti
from sessions.tests.test_lti import (
    CLAIM,
    CLIENT_ID,
    DEPLOYMENT,
    ISSUER,
    LEARNER,
    signed_in,
)

platform = test_lti.platform  # the fixture, for this module's tests to use
SCHOOL_ORIGIN = "https://school.lms.example"
FRAMED = {"Sec-Fetch-Dest": "iframe"}


class HttpsClient(Client):
    """A browser on an HTTPS site: every request it makes is secure (wsgi.url_scheme https)."""

    def generic(self, *args, **kwargs):
        kwargs["secure"] = True
        return super().generic(*args, **kwargs)


def frame_ancestors(response) -> list[str]:
    directives = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";") if part.strip()
    )
    return directives["frame-ancestors"].split()


@pytest.fixture
def lms(request):
    """The simulated LMS, registered in Procto (test_lti.py's `platform` fixture)."""
    return request.getfixturevalue("platform")


@pytest.fixture
def chemistry_mapped(world, lms):
    """The LMS course maps to Chemistry 101 (as an administrator or Tess's first launch would)."""
    registration = LtiPlatform.objects.get()
    LtiContext.objects.create(platform=registration, context_id="lms-course-7", course=world.chemistry.course)
    return world.chemistry


def learner_launch(lms, client, exam, *, framed=True):
    """Lena opens the LMS link to `exam` (inside the LMS's iframe unless `framed` is False)."""
    headers = FRAMED if framed else {}
    params = {
        "iss": ISSUER,
        "login_hint": "lena",
        "target_link_uri": "https://testserver/lti/launch",
        "client_id": CLIENT_ID,
        "lti_deployment_id": DEPLOYMENT,
        "lti1p3_new_window": "1",  # past the cookie check (tested below)
    }
    response = client.get("/lti/login", params, headers=headers)
    assert response.status_code == 302, response.content
    auth = {k: v[0] for k, v in parse_qs(urlparse(response["Location"]).query).items()}
    token = lms.id_token(
        auth,
        sub="lms-lena",
        roles=[LEARNER],
        email="lena@lms.example",
        **{CLAIM + "custom": {"procto_exam_id": str(exam.pk)}},
    )
    return client.post("/lti/launch", {"id_token": token, "state": auth["state"]}, headers=headers)


# --- who may frame what ----------------------------------------------------------------------------


def test_pages_a_launch_leads_to_may_be_framed_by_that_lms_and_by_no_one_else(lms, chemistry_mapped, world):
    LtiPlatform.objects.update(frame_origins=SCHOOL_ORIGIN)
    # Another LMS registered in Procto: its origin frames its own launches, not this one's.
    other = LtiPlatform.objects.create(
        name="Other LMS",
        issuer="https://other-lms.example",
        client_id="x",
        auth_login_url="https://other-lms.example/auth",
        auth_token_url="https://other-lms.example/token",
        key_set_url="https://other-lms.example/jwks",
    )
    client = Client()
    launch = learner_launch(lms, client, chemistry_mapped)
    assert launch.status_code == 302 and launch["Location"] == f"/exams/{chemistry_mapped.pk}/consent/"

    for path in (launch["Location"], f"/exams/{chemistry_mapped.pk}/check/", "/", "/accounts/profile/"):
        page = client.get(path, headers=FRAMED)
        assert page.status_code == 200, path
        assert frame_ancestors(page) == [ISSUER, SCHOOL_ORIGIN], path
        assert "X-Frame-Options" not in page, path
    # A refusal inside the frame is shown there too (not a blank frame): Lena is not in physics.
    refused = client.get(f"/exams/{world.physics.pk}/consent/", headers=FRAMED)
    assert refused.status_code in (403, 404) and frame_ancestors(refused) == [ISSUER, SCHOOL_ORIGIN]
    assert other.frame_ancestors == ["https://other-lms.example"]


def test_the_admin_and_sessions_not_launched_from_an_lms_refuse_every_frame(lms, chemistry_mapped, world):
    client = Client()
    learner_launch(lms, client, chemistry_mapped)
    client.force_login(world.ada)  # the same browser, now Ada by password: a new session
    for path in ("/", "/admin/"):
        page = client.get(path, headers=FRAMED)
        assert frame_ancestors(page) == ["'none'"] and page["X-Frame-Options"] == "DENY", path

    stu = Client()
    stu.force_login(world.stu)
    page = stu.get(f"/exams/{world.physics.pk}/consent/", headers=FRAMED)
    assert page.status_code == 200
    assert frame_ancestors(page) == ["'none'"] and page["X-Frame-Options"] == "DENY"
    anonymous = Client().get("/accounts/login/", headers=FRAMED)
    assert frame_ancestors(anonymous) == ["'none'"] and anonymous["X-Frame-Options"] == "DENY"


def test_an_lms_teachers_admin_pages_refuse_frames_even_in_its_launched_session(lms, chemistry_mapped):
    client = Client()
    learner_launch(lms, client, chemistry_mapped)
    assert client.session[SESSION_PLATFORM] == LtiPlatform.objects.get().pk
    page = client.get("/admin/", headers=FRAMED)  # Lena is no staff: the admin's login page
    assert frame_ancestors(page) == ["'none'"] and page["X-Frame-Options"] == "DENY"


def test_a_deactivated_lms_frames_nothing_any_more(lms, chemistry_mapped):
    client = Client()
    learner_launch(lms, client, chemistry_mapped)
    LtiPlatform.objects.update(is_active=False)
    page = client.get(f"/exams/{chemistry_mapped.pk}/consent/", headers=FRAMED)
    assert frame_ancestors(page) == ["'none'"] and page["X-Frame-Options"] == "DENY"


def test_the_lti_entry_points_may_be_framed_by_registered_platforms_only(lms, db):
    # An LMS Procto does not know gets its error page, which only registered origins may frame.
    unknown = {"iss": "https://evil.example", "login_hint": "x", "lti1p3_new_window": "1"}
    page = Client().get("/lti/login", unknown, headers=FRAMED)
    assert page.status_code == 400 and "Procto does not know this LMS" in page.content.decode()
    assert frame_ancestors(page) == [ISSUER] and "X-Frame-Options" not in page
    launch = Client().post("/lti/launch", {"id_token": "not-a-jwt", "state": "x"}, headers=FRAMED)
    assert launch.status_code == 400 and frame_ancestors(launch) == [ISSUER]
    # Procto's public keys are no page: nobody frames them.
    assert frame_ancestors(Client().get("/lti/jwks")) == ["'none'"]


def test_frame_origins_come_from_the_issuer_the_login_url_and_what_the_admin_adds(db):
    canvas = LtiPlatform(
        name="Canvas",
        issuer="https://canvas.instructure.com",
        client_id="1",
        auth_login_url="https://sso.canvaslms.com/api/lti/authorize_redirect",
        auth_token_url="https://sso.canvaslms.com/login/oauth2/token",
        key_set_url="https://sso.canvaslms.com/api/lti/security/jwks",
        frame_origins=" HTTPS://School.Instructure.com/ \n\nhttps://school.instructure.com:8443",
    )
    canvas.full_clean()
    assert canvas.frame_origins == "https://school.instructure.com\nhttps://school.instructure.com:8443"
    assert canvas.frame_ancestors == [
        "https://canvas.instructure.com",
        "https://sso.canvaslms.com",
        "https://school.instructure.com",
        "https://school.instructure.com:8443",
    ]
    for wrong in ("https://school.instructure.com/courses/1", "javascript:alert(1)", "school.example", "*"):
        canvas.frame_origins = wrong
        with pytest.raises(ValidationError, match="Not an origin"):
            canvas.full_clean()


@pytest.mark.parametrize(
    "url",
    ["https://lms.example;script-src *", "https://a'b.example", "https://lms.example\n", "ftp://lms.example"],
)
def test_an_issuer_that_is_no_plain_origin_never_reaches_the_policy(url):
    assert origin_of(url) in (None, "https://lms.example")
    assert origin_of("https://LMS.example:443/path?q") == "https://lms.example:443"


# --- cookies ---------------------------------------------------------------------------------------


def test_over_https_an_lti_session_gets_samesite_none_cookies_and_others_keep_lax(
    lms,
    chemistry_mapped,
    world,
    settings,
):
    settings.LTI_IFRAME_COOKIES = True
    client = HttpsClient()
    login = client.get(
        "/lti/login",
        {"iss": ISSUER, "login_hint": "lena", "client_id": CLIENT_ID, "lti1p3_new_window": "1"},
        headers=FRAMED,
    )
    state = next(c for name, c in login.cookies.items() if name.startswith("lti1p3-state-"))
    assert (state["samesite"], state["secure"], state["httponly"]) == ("None", True, True)
    assert login.cookies["lti1p3-session-id"]["samesite"] == "None"

    launch = learner_launch(lms, client, chemistry_mapped)
    assert launch.status_code == 302 and signed_in(client).email == "lena@lms.example"
    for name in ("sessionid", "csrftoken"):
        assert (launch.cookies[name]["samesite"], launch.cookies[name]["secure"]) == ("None", True), name

    # Ada signs in with her password on the same HTTPS site: her session stays SameSite=Lax.
    ada = HttpsClient()
    response = ada.post("/accounts/login/", {"username": world.ada.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, response.content
    assert response.cookies["sessionid"]["samesite"] == "Lax"


def test_lti_cookies_stay_lax_over_plain_http_and_when_the_setting_is_off(lms, chemistry_mapped, settings):
    settings.LTI_IFRAME_COOKIES = True
    launch = learner_launch(lms, Client(), chemistry_mapped)  # plain HTTP: Secure impossible
    assert launch.cookies["sessionid"]["samesite"] == "Lax" and not launch.cookies["sessionid"]["secure"]

    settings.LTI_IFRAME_COOKIES = False
    launch = learner_launch(lms, HttpsClient(), chemistry_mapped)
    assert launch.cookies["sessionid"]["samesite"] == "Lax"


# --- the cookie check at the LTI login -------------------------------------------------------------


def test_a_framed_login_first_checks_cookies_and_offers_a_new_window(lms, chemistry_mapped, settings):
    settings.LTI_IFRAME_COOKIES = True
    # Moodle posts its login initiation into the frame.
    initiation = {
        "iss": ISSUER,
        "login_hint": "lena",
        "lti_message_hint": "opaque",
        "target_link_uri": "https://testserver/lti/launch",
        "client_id": CLIENT_ID,
        "lti_deployment_id": DEPLOYMENT,
    }
    client = HttpsClient()
    check = client.post("/lti/login", initiation, headers=FRAMED)
    assert check.status_code == 200
    html = check.content.decode()
    assert 'data-test-cookie="SameSite=None; Secure"' in html
    assert "<script>" not in html and "js/lti-cookie-check.js" in html  # no inline script: CSP holds
    assert "Open in a new window" in html and 'target="_blank"' in html
    assert frame_ancestors(check) == [ISSUER] and "X-Frame-Options" not in check
    assert not any(name.startswith("lti1p3-state-") for name in check.cookies)  # nothing set yet

    continue_url = html.split('data-continue-url="')[1].split('"')[0].replace("&amp;", "&")
    assert continue_url.startswith("/lti/login?")
    assert parse_qs(urlparse(continue_url).query) == {k: [v] for k, v in initiation.items()} | {
        "lti1p3_new_window": ["1"]
    }
    # The same URL, in the frame or a new window, goes on to the LMS's auth endpoint.
    onward = client.get(continue_url, headers=FRAMED)
    assert onward.status_code == 302 and onward["Location"].startswith(f"{ISSUER}/auth?")

    # With LTI_IFRAME_COOKIES off (or over plain HTTP) the test cookie is Lax, as the session's will
    # be: a cross-site frame fails the check and the student is offered the new window at once.
    settings.LTI_IFRAME_COOKIES = False
    html = HttpsClient().post("/lti/login", initiation, headers=FRAMED).content.decode()
    assert 'data-test-cookie="SameSite=Lax"' in html


def test_a_login_in_a_top_window_goes_straight_to_the_lms(lms, db):
    params = {"iss": ISSUER, "login_hint": "lena", "client_id": CLIENT_ID}
    for headers in ({"Sec-Fetch-Dest": "document"}, {}):
        response = Client().get("/lti/login", params, headers=headers)
        assert response.status_code == 302 and response["Location"].startswith(f"{ISSUER}/auth?")


# --- a framed session moves to a new window ---------------------------------------------------------


def test_a_framed_session_opens_a_new_window_signed_in_once_with_its_own_cookie_jar(lms, chemistry_mapped):
    framed = Client()
    learner_launch(lms, framed, chemistry_mapped)
    lena = signed_in(framed)
    check = f"/exams/{chemistry_mapped.pk}/check/"
    response = framed.post("/lti/window", {"next": check}, headers=FRAMED)
    assert response.status_code == 200
    url = response.json()["data"]["url"]
    assert url.startswith("/lti/window/")

    # The new window has none of the frame's cookies (Firefox partitions them by top site).
    window = Client()
    arrived = window.get(url)
    assert arrived.status_code == 302 and arrived["Location"] == check
    assert signed_in(window) == lena
    assert window.get(check).status_code == 200
    # Once only.
    again = Client().get(url)
    assert again.status_code == 400 and "used already or is too old" in again.content.decode()
    assert signed_in(Client()) is None


@pytest.mark.parametrize(
    "next_path", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "x"]
)
def test_a_new_window_goes_to_a_page_of_this_site_only(lms, chemistry_mapped, next_path):
    framed = Client()
    learner_launch(lms, framed, chemistry_mapped)
    response = framed.post("/lti/window", {"next": next_path})
    assert response.status_code == 400 and response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_only_a_session_launched_from_an_lms_gets_a_new_window_link(world, db):
    stu = Client()
    stu.force_login(world.stu)
    response = stu.post("/lti/window", {"next": "/"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "PERMISSION_DENIED"
    assert Client().post("/lti/window", {"next": "/"}).status_code == 403
    assert Client().get("/lti/window/made-up-token").status_code == 400


# --- camera and microphone ---------------------------------------------------------------------------


def test_every_page_lets_only_procto_itself_use_the_camera_microphone_and_full_screen(client, world):
    client.force_login(world.stu)
    policy = client.get(f"/exams/{world.physics.pk}/check/")["Permissions-Policy"]
    for feature in ("camera=(self)", "microphone=(self)", "fullscreen=(self)", "geolocation=()"):
        assert feature in policy


def test_pages_with_the_camera_carry_the_open_in_a_new_window_button(lms, chemistry_mapped):
    client = Client()
    learner_launch(lms, client, chemistry_mapped)
    check = f"/exams/{chemistry_mapped.pk}/check/"
    html = client.get(check).content.decode()
    assert 'id="new-window"' in html and "Open the exam in a new window" in html
    assert f'href="{check}" target="_blank"' in html and 'data-handoff-url="/lti/window"' in html
