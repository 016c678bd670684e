"""LTI 1.3 against a simulated platform in the test suite: its own RSA keys, its JWKS served over
real HTTP on 127.0.0.1, id_tokens signed with PyJWT (RS256). The tool side runs through Django's
test client exactly as a browser would: login initiation → redirect to the platform's auth URL
(its state and nonce read from there) → the platform's form post of the id_token to the launch.
Nothing inside pylti1p3 is mocked."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from jwt.algorithms import RSAAlgorithm

from accounts.models import User
from exams.models import Enrolment
from sessions.lti.keys import tool_jwks, tool_key_create
from sessions.models import LtiContext, LtiDeployment, LtiPlatform, LtiResourceLink, LtiUser

ISSUER = "https://lms.example.test"
CLIENT_ID = "procto-client-1"
DEPLOYMENT = "deployment-1"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


class SimulatedPlatform:
    """An LMS: an RSA key pair whose public half its JWKS endpoint serves over HTTP."""

    def __init__(self) -> None:
        self.kid = "platform-key-1"
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update(kid=self.kid, alg="RS256", use="sig")
        body = json.dumps({"keys": [jwk]}).encode()
        self.jwks_requests = 0
        platform = self

        # Set by a browser test: builds the id_token the auth endpoint posts back to Procto.
        self.authorize = None
        self.received: list[dict] = []  # what Procto posted back (Deep Linking responses)
        # More endpoints (test_lti_advantage.py: token, roster, scores): (method, path) ->
        # handler(request_handler, body: bytes) -> (status, content type, content[, headers]).
        self.routes: dict[tuple[str, str], object] = {}

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, content_type: str, content: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.end_headers()
                self.wfile.write(content)

            def _route(self, method: str, body: bytes = b"") -> bool:
                route = platform.routes.get((method, urlparse(self.path).path))
                if route is None:
                    return False
                status, content_type, content, *headers = route(self, body)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                for name, value in (headers[0] if headers else {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(content)
                return True

            def do_GET(self) -> None:
                if self._route("GET"):
                    return
                url = urlparse(self.path)
                if url.path == "/auth" and platform.authorize is not None:
                    # The OIDC authorization endpoint: an auto-submitted form_post of the id_token.
                    auth = {k: v[0] for k, v in parse_qs(url.query).items()}
                    form = (
                        f'<form id="f" method="post" action="{escape(auth["redirect_uri"])}">'
                        f'<input type="hidden" name="id_token" value="{platform.authorize(auth)}">'
                        f'<input type="hidden" name="state" value="{escape(auth["state"])}"></form>'
                        '<script>document.getElementById("f").submit()</script>'
                    )
                    self._send(200, "text/html", form.encode())
                    return
                platform.jwks_requests += 1
                self._send(200 if url.path == "/jwks" else 404, "application/json", body)

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                raw = self.rfile.read(length)
                if self._route("POST", raw):
                    return
                form = parse_qs(raw.decode())
                platform.received.append({"path": self.path} | {k: v[0] for k, v in form.items()})
                self._send(200, "text/html", b"<p>Received by the LMS</p>")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        self.jwks_url = f"{self.base_url}/jwks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def login_initiation(self, client, **extra) -> dict:
        """The LMS sends the browser to Procto's login URL; Procto sends it back to the auth URL."""
        params = {
            "iss": ISSUER,
            "login_hint": "opaque-login-hint",
            "target_link_uri": "http://testserver/lti/launch",
            "lti_message_hint": "opaque-message-hint",
            "client_id": CLIENT_ID,
            "lti_deployment_id": DEPLOYMENT,
        } | extra
        response = client.get("/lti/login", params)
        assert response.status_code == 302, response.content
        location = urlparse(response["Location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == f"{ISSUER}/auth"
        return {k: v[0] for k, v in parse_qs(location.query).items()}

    def id_token(self, auth: dict, *, sub: str, roles: list[str], key=None, **claims) -> str:
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "sub": sub,
            "iat": now,
            "exp": now + 300,
            "nonce": auth["nonce"],
            CLAIM + "message_type": "LtiResourceLinkRequest",
            CLAIM + "version": "1.3.0",
            CLAIM + "deployment_id": DEPLOYMENT,
            CLAIM + "target_link_uri": auth["redirect_uri"],
            CLAIM + "resource_link": {"id": "link-1", "title": "Physics final (proctored)"},
            CLAIM + "context": {"id": "lms-course-7", "label": "PHY101", "title": "Physics, autumn"},
            CLAIM + "roles": roles,
        } | claims
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": self.kid})

    def launch(self, client, auth: dict, id_token: str):
        """The platform's auto-submitted form: the id_token and the state, posted to redirect_uri."""
        path = urlparse(auth["redirect_uri"]).path
        return client.post(path, {"id_token": id_token, "state": auth["state"]})


def platform_register(simulated: SimulatedPlatform, *, auth_base: str = ISSUER) -> LtiPlatform:
    """Register the simulated LMS in Procto as an administrator would, with one deployment."""
    registration = LtiPlatform.objects.create(
        name="Example LMS",
        issuer=ISSUER,
        client_id=CLIENT_ID,
        auth_login_url=f"{auth_base}/auth",
        auth_token_url=f"{auth_base}/token",
        key_set_url=simulated.jwks_url,
        # The school vouches that its LMS confirms addresses: Tess's first launch finds her account.
        links_accounts_by_email=True,
    )
    LtiDeployment.objects.create(platform=registration, deployment_id=DEPLOYMENT)
    return registration


@pytest.fixture
def platform(db, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    simulated = SimulatedPlatform()
    platform_register(simulated)
    yield simulated
    simulated.close()


def signed_in(client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def test_instructor_then_learner_launch_lands_the_student_on_the_exam_enrolled(platform, client, world):
    # Tess places the link in her LMS course, naming her physics exam; her first launch maps the
    # LMS course to Physics 101 (the exam's course, which she teaches).
    custom = {CLAIM + "custom": {"procto_exam_id": str(world.physics.pk)}}
    auth = platform.login_initiation(client)
    assert auth["client_id"] == CLIENT_ID and auth["login_hint"] == "opaque-login-hint"
    assert auth["redirect_uri"] == "http://testserver/lti/launch"
    token = platform.id_token(auth, sub="lms-tess", roles=[INSTRUCTOR], email=world.tess.email, **custom)
    response = platform.launch(client, auth, token)
    assert response.status_code == 302
    assert response["Location"] == f"/exams/{world.physics.pk}/consent/"
    assert signed_in(client) == world.tess
    assert LtiContext.objects.get(context_id="lms-course-7").course == world.physics.course
    assert LtiResourceLink.objects.get(resource_link_id="link-1").exam == world.physics
    assert platform.jwks_requests >= 1  # the signature was checked against the served JWKS

    # Lena, new to Procto, opens the same link from the LMS as a Learner.
    learner = Client()
    auth = platform.login_initiation(learner)
    token = platform.id_token(
        auth, sub="lms-lena", roles=[LEARNER], email="Lena@LMS.example", given_name="Lena", family_name="Lind"
    )
    response = platform.launch(learner, auth, token)
    assert response.status_code == 302
    assert response["Location"] == f"/exams/{world.physics.pk}/consent/"
    lena = signed_in(learner)
    assert (lena.email, lena.role, lena.first_name) == ("lena@lms.example", User.Role.STUDENT, "Lena")
    assert not lena.has_usable_password()
    enrolment = Enrolment.objects.get(course=world.physics.course, student=lena)
    assert enrolment.source == Enrolment.Source.LTI
    assert LtiUser.objects.get(sub="lms-lena").user == lena
    page = learner.get(response["Location"])
    assert page.status_code == 200
    assert world.physics.title in page.content.decode()

    # Her next launch finds her by `sub`, not a second account.
    auth = platform.login_initiation(learner)
    response = platform.launch(learner, auth, platform.id_token(auth, sub="lms-lena", roles=[LEARNER]))
    assert response.status_code == 302 and signed_in(learner) == lena
    assert User.objects.filter(first_name="Lena").count() == 1


def test_new_instructor_becomes_a_teacher_of_a_course_made_for_the_lms_course(platform, client, db):
    auth = platform.login_initiation(client)
    token = platform.id_token(auth, sub="lms-ivy", roles=[INSTRUCTOR], email="ivy@lms.example")
    response = platform.launch(client, auth, token)
    assert response.status_code == 302 and response["Location"] == "/"
    ivy = signed_in(client)
    assert (ivy.role, ivy.is_staff) == (User.Role.TEACHER, True)
    course = LtiContext.objects.get(context_id="lms-course-7").course
    assert (course.title, course.code) == ("Physics, autumn", "PHY101")
    assert list(course.teachers.all()) == [ivy]


def test_learner_launch_never_signs_in_to_an_account_of_another_role(platform, client, world):
    auth = platform.login_initiation(client)
    token = platform.id_token(auth, sub="lms-x", roles=[INSTRUCTOR], email=world.stu.email)
    response = platform.launch(client, auth, token)
    assert response.status_code == 403 and signed_in(client) is None
    auth = platform.login_initiation(client)
    token = platform.id_token(auth, sub="lms-y", roles=[LEARNER], email=world.tess.email)
    response = platform.launch(client, auth, token)
    assert response.status_code == 403 and signed_in(client) is None
    assert world.stu.role == User.Role.STUDENT and not LtiUser.objects.exists()


def test_learner_before_any_instructor_launch_is_told_the_course_is_not_set_up(platform, client, db):
    auth = platform.login_initiation(client)
    response = platform.launch(client, auth, platform.id_token(auth, sub="lms-lena", roles=[LEARNER]))
    assert response.status_code == 403
    assert "not set up in Procto yet" in response.content.decode()
    assert signed_in(client) is None


def _other_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize(
    "case, reason",
    [
        ("wrong issuer", "Registration not found"),
        ("expired", "Signature has expired"),
        ("bad signature", "Signature verification failed"),
        ("unknown deployment", "Unable to find deployment"),
        ("unknown nonce", "Invalid Nonce"),
        ("wrong audience", "Registration not found"),
    ],
)
def test_bad_launch_gets_a_clear_error_page_is_logged_and_signs_nobody_in(
    platform, client, world, caplog, case, reason
):
    auth = platform.login_initiation(client)
    claims = {
        "wrong issuer": {"iss": "https://evil.example"},
        "expired": {"exp": int(time.time()) - 120, "iat": int(time.time()) - 600},
        "unknown deployment": {CLAIM + "deployment_id": "deployment-2"},
        "unknown nonce": {"nonce": uuid.uuid4().hex},
        "wrong audience": {"aud": "someone-else"},
    }.get(case, {})
    key = _other_key() if case == "bad signature" else None
    token = platform.id_token(auth, sub="lms-stu", roles=[LEARNER], email=world.stu.email, key=key, **claims)
    with caplog.at_level(logging.WARNING, logger="sessions.lti.views"):
        response = platform.launch(client, auth, token)
    assert response.status_code == 400
    body = response.content.decode()
    assert "The LMS link did not work" in body and reason in body
    assert signed_in(client) is None
    assert any(reason in r.getMessage() for r in caplog.records)
    assert not LtiUser.objects.exists()


def test_replayed_launch_is_refused(platform, client, world, caplog):
    auth = platform.login_initiation(client)
    token = platform.id_token(
        auth,
        sub="lms-tess",
        roles=[INSTRUCTOR],
        email=world.tess.email,
        **{CLAIM + "custom": {"procto_exam_id": str(world.physics.pk)}},
    )
    assert platform.launch(client, auth, token).status_code == 302
    replayer = Client()
    replayer.cookies = client.cookies  # the same browser state: only the nonce stops it
    replayer.logout()
    with caplog.at_level(logging.WARNING, logger="sessions.lti.views"):
        response = platform.launch(replayer, auth, token)
    assert response.status_code == 400 and "Invalid Nonce" in response.content.decode()
    assert signed_in(replayer) is None


def test_launch_without_the_state_cookie_is_refused(platform, client, world):
    auth = platform.login_initiation(client)
    token = platform.id_token(auth, sub="lms-stu", roles=[LEARNER])
    stranger = Client()  # another browser: no state cookie
    response = platform.launch(stranger, auth, token)
    assert response.status_code == 400 and "State not found" in response.content.decode()


def test_login_initiation_from_an_unknown_platform_is_refused(platform, client, db):
    response = client.get("/lti/login", {"iss": "https://evil.example", "login_hint": "x", "client_id": "y"})
    assert response.status_code == 400
    assert "Procto does not know this LMS" in response.content.decode()


def test_jwks_publishes_every_tool_key_newest_first(client, db):
    old, new = tool_key_create(), tool_key_create()
    response = client.get("/lti/jwks")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert [k["kid"] for k in keys] == [new.kid, old.kid]
    assert all(k["kty"] == "RSA" and k["alg"] == "RS256" and "d" not in k for k in keys)
    assert tool_jwks() == response.json()
    old.delete()
    assert [k["kid"] for k in client.get("/lti/jwks").json()["keys"]] == [new.kid]


def test_admin_shows_the_urls_to_enter_in_the_lms_to_administrators_only(platform, client, world):
    registration = LtiPlatform.objects.get()
    client.force_login(world.ada)
    page = client.get(f"/admin/exam_sessions/ltiplatform/{registration.pk}/change/")
    assert page.status_code == 200
    for url in ("http://testserver/lti/login", "http://testserver/lti/launch", "http://testserver/lti/jwks"):
        assert url in page.content.decode()
    client.force_login(world.tess)
    assert client.get(f"/admin/exam_sessions/ltiplatform/{registration.pk}/change/").status_code == 403


# --- Deep Linking --------------------------------------------------------------------------------

DEEP_LINKING = "https://purl.imsglobal.org/spec/lti-dl/claim/"


def deep_linking_request(platform, client, world, **claims):
    auth = platform.login_initiation(client)
    settings = {
        "deep_link_return_url": f"{ISSUER}/deep-link-return",
        "accept_types": ["ltiResourceLink"],
        "accept_presentation_document_targets": ["window"],
        "data": "platform-opaque-data",
    }
    body = {
        CLAIM + "message_type": "LtiDeepLinkingRequest",
        DEEP_LINKING + "deep_linking_settings": settings,
        CLAIM + "resource_link": None,
    } | claims
    token = platform.id_token(auth, sub="lms-tess", roles=[INSTRUCTOR], email=world.tess.email, **body)
    return platform.launch(client, auth, token)


def test_deep_linking_teacher_picks_an_exam_and_the_lms_gets_a_signed_link_learners_land_on(
    platform, client, world
):
    response = deep_linking_request(platform, client, world)
    assert response.status_code == 302 and response["Location"].startswith("/lti/deep-link/")
    assert signed_in(client) == world.tess
    picker = client.get(response["Location"])
    assert picker.status_code == 200
    page = picker.content.decode()
    # Tess's exams (the LMS course maps to none yet), not Vic's.
    assert "Physics final" in page and "Chemistry midterm" in page and "History essay" not in page

    returned = client.post(response["Location"], {"exam": world.physics.pk})
    assert returned.status_code == 200
    html = returned.content.decode()
    assert f'action="{ISSUER}/deep-link-return"' in html and "lti-deep-link-return.js" in html
    assert f"form-action 'self' {ISSUER}" in returned["Content-Security-Policy"]
    message = html.split('name="JWT" value="')[1].split('"')[0]

    # The platform verifies the response with Procto's published key, found by the header's kid.
    kid = jwt.get_unverified_header(message)["kid"]
    jwk = next(k for k in client.get("/lti/jwks").json()["keys"] if k["kid"] == kid)
    claims = jwt.decode(message, RSAAlgorithm.from_jwk(jwk), algorithms=["RS256"], audience=ISSUER)
    assert claims["iss"] == CLIENT_ID
    assert claims[CLAIM + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[CLAIM + "deployment_id"] == DEPLOYMENT
    assert claims[DEEP_LINKING + "data"] == "platform-opaque-data"
    [item] = claims[DEEP_LINKING + "content_items"]
    assert item["type"] == "ltiResourceLink" and item["title"] == "Physics final"
    assert item["url"] == "http://testserver/lti/launch"
    assert item["custom"] == {"procto_exam_id": str(world.physics.pk)}
    assert LtiContext.objects.get(context_id="lms-course-7").course == world.physics.course

    # The LMS made the link from that item: a learner launching it lands on the exam, enrolled.
    learner = Client()
    auth = platform.login_initiation(learner)
    token = platform.id_token(
        auth,
        sub="lms-lena",
        roles=[LEARNER],
        email="lena@lms.example",
        **{CLAIM + "resource_link": {"id": "link-2"}, CLAIM + "custom": item["custom"]},
    )
    response = platform.launch(learner, auth, token)
    assert response["Location"] == f"/exams/{world.physics.pk}/consent/"
    assert world.physics.course.enrolments.filter(student__email="lena@lms.example").exists()


def test_deep_linking_is_for_instructors_only(platform, client, world):
    auth = platform.login_initiation(client)
    body = {
        CLAIM + "message_type": "LtiDeepLinkingRequest",
        DEEP_LINKING + "deep_linking_settings": {
            "deep_link_return_url": f"{ISSUER}/deep-link-return",
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["window"],
        },
    }
    token = platform.id_token(auth, sub="lms-stu", roles=[LEARNER], email=world.stu.email, **body)
    response = platform.launch(client, auth, token)
    assert response.status_code == 403 and signed_in(client) is None


def test_deep_linking_picker_refuses_another_user_and_exams_of_other_courses(platform, client, world):
    response = deep_linking_request(platform, client, world)
    picker_url = response["Location"]
    assert client.post(picker_url, {"exam": world.history.pk}).status_code == 400  # Vic's exam
    assert client.post(picker_url, {"exam": "physics"}).status_code == 400
    vic = Client()
    vic.force_login(world.vic)
    assert vic.get(picker_url).status_code == 403


def test_an_email_claim_alone_signs_nobody_in_unless_the_school_trusts_its_lms(platform, client, world):
    LtiPlatform.objects.update(links_accounts_by_email=False)
    auth = platform.login_initiation(client)
    token = platform.id_token(auth, sub="lms-stu", roles=[LEARNER], email=world.stu.email)
    response = platform.launch(client, auth, token)
    assert response.status_code == 403 and signed_in(client) is None
    assert "already has this e-mail address" in response.content.decode()
    assert not LtiUser.objects.exists()


def test_a_second_lms_user_claiming_a_linked_accounts_email_is_refused(platform, client, world):
    custom = {CLAIM + "custom": {"procto_exam_id": str(world.physics.pk)}}
    auth = platform.login_initiation(client)
    tess = platform.id_token(auth, sub="lms-tess", roles=[INSTRUCTOR], email=world.tess.email, **custom)
    assert platform.launch(client, auth, tess).status_code == 302
    client.logout()
    auth = platform.login_initiation(client)
    eve = platform.id_token(auth, sub="lms-eve", roles=[INSTRUCTOR], email=world.tess.email, **custom)
    response = platform.launch(client, auth, eve)
    assert response.status_code == 403 and signed_in(client) is None
    assert list(LtiUser.objects.values_list("sub", flat=True)) == ["lms-tess"]


@pytest.mark.parametrize(
    "roles",
    [
        [
            "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor",
            "http://purl.imsglobal.org/vocab/lis/v2/system/person#User",
        ],
        ["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student"],
        ["http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper"],
    ],
)
def test_only_a_learner_of_the_course_becomes_a_student(platform, client, world, roles):
    custom = {CLAIM + "custom": {"procto_exam_id": str(world.physics.pk)}}
    auth = platform.login_initiation(client)
    tess = platform.id_token(auth, sub="lms-tess", roles=[INSTRUCTOR], email=world.tess.email, **custom)
    assert platform.launch(client, auth, tess).status_code == 302
    client.logout()
    auth = platform.login_initiation(client)
    response = platform.launch(client, auth, platform.id_token(auth, sub="lms-parent", roles=roles, **custom))
    assert response.status_code == 403 and signed_in(client) is None
    assert not User.objects.filter(email__startswith="lti-").exists()


@pytest.mark.parametrize("exam_id", ["²", "abc", str(2**64), "-1"])
def test_a_link_naming_no_real_exam_lands_on_the_dashboard(platform, client, world, exam_id):
    custom = {CLAIM + "custom": {"procto_exam_id": str(world.physics.pk)}}
    auth = platform.login_initiation(client)
    tess = platform.id_token(auth, sub="lms-tess", roles=[INSTRUCTOR], email=world.tess.email, **custom)
    assert platform.launch(client, auth, tess).status_code == 302
    client.logout()
    auth = platform.login_initiation(client)
    # Another link of the same LMS course (no exam mapped to it yet), naming a bad id.
    claims = {CLAIM + "custom": {"procto_exam_id": exam_id}, CLAIM + "resource_link": {"id": "link-2"}}
    token = platform.id_token(auth, sub="lms-lena", roles=[LEARNER], **claims)
    response = platform.launch(client, auth, token)
    assert response.status_code == 302 and response["Location"] == "/"
