"""Deep Linking in real headless Chromium against the simulated platform (sessions/tests/test_lti):
the LMS sends the teacher to Procto's login URL, its auth endpoint posts the signed
LtiDeepLinkingRequest back, Tess picks an exam in Procto's picker, and the signed response
arrives at the platform's return URL. Saves docs/screenshots/lti-deep-link-picker.png."""

from __future__ import annotations

from urllib.parse import urlencode

import jwt
import pytest
import requests
from jwt.algorithms import RSAAlgorithm

from procto.tests.browser import BROWSER_TEST_MARKS, in_thread, screenshot, wait_until
from sessions.models import LtiContext
from sessions.tests.test_lti import (
    CLAIM,
    CLIENT_ID,
    DEEP_LINKING,
    DEPLOYMENT,
    INSTRUCTOR,
    ISSUER,
    SimulatedPlatform,
    platform_register,
)

pytestmark = BROWSER_TEST_MARKS


@pytest.fixture
def lms(transactional_world):
    simulated = SimulatedPlatform()
    base = simulated.jwks_url.removesuffix("/jwks")

    # Its auth endpoint is served over HTTP beside its JWKS, where Chromium can post to it.
    in_thread(platform_register, simulated, auth_base=base)
    simulated.base = base
    yield simulated
    simulated.close()


def test_teacher_picks_an_exam_in_the_lms_and_the_signed_link_reaches_it(
    browser, live_server_url, transactional_world, lms
):
    world = transactional_world
    deep_linking = {
        CLAIM + "message_type": "LtiDeepLinkingRequest",
        CLAIM + "resource_link": None,
        DEEP_LINKING + "deep_linking_settings": {
            "deep_link_return_url": f"{lms.base}/deep-link-return",
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["window"],
            "data": "platform-opaque-data",
        },
    }
    lms.authorize = lambda auth: lms.id_token(
        auth, sub="lms-tess", roles=[INSTRUCTOR], email=world.tess.email, **deep_linking
    )
    login = {
        "iss": ISSUER,
        "login_hint": "tess",
        "client_id": CLIENT_ID,
        "lti_deployment_id": DEPLOYMENT,
        "target_link_uri": f"{live_server_url}/lti/launch",
    }
    page = browser.new_context(viewport={"width": 1000, "height": 700}).new_page()
    page.goto(f"{live_server_url}/lti/login?{urlencode(login)}")
    page.wait_for_url(f"{live_server_url}/lti/deep-link/*")
    assert page.get_by_role("heading", name="Choose the exam this link opens").is_visible()
    assert page.get_by_label("Physics final").is_visible() and page.get_by_text("History essay").count() == 0
    page.get_by_label("Physics final").check()
    screenshot(page, "lti-deep-link-picker")

    page.get_by_role("button", name="Add to the LMS course").click()
    page.wait_for_url(f"{lms.base}/deep-link-return")
    wait_until(lambda: lms.received, what="the Deep Linking response at the LMS")
    message = lms.received[0]["JWT"]
    jwks = requests.get(f"{live_server_url}/lti/jwks", timeout=10).json()
    jwk = next(k for k in jwks["keys"] if k["kid"] == jwt.get_unverified_header(message)["kid"])
    claims = jwt.decode(message, RSAAlgorithm.from_jwk(jwk), algorithms=["RS256"], audience=ISSUER)
    [item] = claims[DEEP_LINKING + "content_items"]
    assert item["custom"] == {"procto_exam_id": str(world.physics.pk)}
    assert claims[DEEP_LINKING + "data"] == "platform-opaque-data"
    mapped = in_thread(lambda: LtiContext.objects.get(context_id="lms-course-7").course_id)
    assert mapped == world.physics.course_id
