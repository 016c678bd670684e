"""LTI Advantage services against the simulated platform of test_lti.py, grown an OAuth 2 token
endpoint (which verifies Procto's client assertion with the keys Procto publishes at /lti/jwks),
a Names and Role Provisioning endpoint serving a two-page roster, and an Assignment and Grade
Services line item recording the scores it receives. Procto calls them over real HTTP through
pylti1p3; the Celery tasks run in process (eager), the roster sync's retries included."""

from __future__ import annotations

import json
import secrets
from decimal import Decimal
from urllib.parse import parse_qs

import jwt
import pytest
from django.test import Client
from jwt.algorithms import RSAAlgorithm

from accounts.models import User
from exams.models import Enrolment, Question
from sessions import services
from sessions.lti.keys import tool_key_current
from sessions.models import Answer, ExamSession, LtiContext, LtiPlatform, LtiResourceLink, LtiUser
from sessions.tests.test_lti import CLAIM, CLIENT_ID, INSTRUCTOR, LEARNER, platform  # noqa: F401

NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"


def member(sub, role, **extra) -> dict:
    return {"user_id": sub, "roles": [MEMBERSHIP + role], "status": "Active"} | extra


ROSTER_PAGES = [
    [
        member("lms-lena", "Learner", email="lena@lms.example", given_name="Lena", family_name="Lind"),
        member("lms-ian", "Instructor", email="ian@lms.example", given_name="Ian"),
    ],
    [
        member("lms-mo", "Mentor", email="mo@lms.example"),
        member("lms-leo", "Learner", given_name="Leo"),  # no e-mail shared
        member("lms-lou", "Learner", email="lou@lms.example", status="Inactive"),
    ],
]


@pytest.fixture(autouse=True)
def tasks_in_process():
    # The tasks run here, in services mode (REDIS_URL set) too, their retries included.
    from procto.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    # Not propagated, as in a worker: an eager task re-runs itself on Retry (no countdown) only
    # when its errors stay inside it.
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def lms(platform, client):  # noqa: F811
    """The platform's services. Its token endpoint trusts the keys Procto published at /lti/jwks
    (fetched once here, as an LMS caches a tool's key set)."""
    tool_key_current()
    tool_jwks = client.get("/lti/jwks").json()
    token_url = f"{platform.base_url}/token"
    LtiPlatform.objects.update(auth_token_url=token_url)
    platform.tokens: dict[str, list[str]] = {}  # bearer token -> scopes granted
    platform.assertions: list[dict] = []  # (header, claims) of each verified client assertion
    platform.roster = [list(page) for page in ROSTER_PAGES]
    platform.scores: list[dict] = []  # what reached the line item
    platform.score_failures = 0  # answer the next this many score posts with a 500

    def token(handler, body):
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        assertion = form.get("client_assertion", "")
        header = jwt.get_unverified_header(assertion)
        jwk = next((k for k in tool_jwks["keys"] if k["kid"] == header.get("kid")), None)
        if (
            jwk is None
            or form.get("grant_type") != "client_credentials"
            or form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            return 400, "application/json", b'{"error": "invalid_client"}'
        try:
            claims = jwt.decode(
                assertion,
                RSAAlgorithm.from_jwk(jwk),
                algorithms=["RS256"],
                audience=token_url,
                issuer=CLIENT_ID,
            )
        except jwt.InvalidTokenError:
            return 400, "application/json", b'{"error": "invalid_client"}'
        assert claims["sub"] == CLIENT_ID
        platform.assertions.append({"header": header, "claims": claims})
        bearer = secrets.token_urlsafe(16)
        platform.tokens[bearer] = form["scope"].split()
        body = {"access_token": bearer, "token_type": "Bearer", "expires_in": 3600, "scope": form["scope"]}
        return 200, "application/json", json.dumps(body).encode()

    def granted(handler, scope: str) -> bool:
        auth = handler.headers.get("Authorization", "")
        return auth.startswith("Bearer ") and scope in platform.tokens.get(auth[7:], [])

    def memberships(handler, body):
        if not granted(handler, NRPS_SCOPE):
            return 401, "application/json", b"{}"
        page = 2 if handler.path.endswith("page=2") else 1
        content = {
            "id": handler.path,
            "context": {"id": "lms-course-7"},
            "members": platform.roster[page - 1],
        }
        headers = {"Link": f'<{platform.base_url}/nrps/members?page=2>; rel="next"'} if page == 1 else {}
        return (
            200,
            "application/vnd.ims.lti-nrps.v2.membershipcontainer+json",
            json.dumps(content).encode(),
            headers,
        )

    def scores(handler, body):
        if platform.score_failures:
            platform.score_failures -= 1
            platform.scores.append({"failed": True})
            return 500, "text/plain", b"Internal Server Error"
        if not granted(handler, SCORE_SCOPE):
            return 401, "application/json", b"{}"
        platform.scores.append(
            {
                "content_type": handler.headers["Content-Type"],
                "token": handler.headers["Authorization"][7:],
                "score": json.loads(body),
            }
        )
        return 200, "application/json", b"{}"

    platform.routes[("POST", "/token")] = token
    platform.routes[("GET", "/nrps/members")] = memberships
    platform.routes[("POST", "/ags/lineitems/9/scores")] = scores
    return platform


def services_claims(lms, **ags) -> dict:
    return {
        NRPS: {"context_memberships_url": f"{lms.base_url}/nrps/members", "service_versions": ["2.0"]},
        AGS: {
            "scope": [SCORE_SCOPE, "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"],
            "lineitems": f"{lms.base_url}/ags/lineitems",
            "lineitem": f"{lms.base_url}/ags/lineitems/9",
        }
        | ags,
    }


def instructor_launch(lms, client, world, **claims):
    custom = {CLAIM + "custom": {"procto_exam_id": str(world.physics.pk)}}
    auth = lms.login_initiation(client)
    token = lms.id_token(auth, sub="lms-tess", roles=[INSTRUCTOR], email=world.tess.email, **custom, **claims)
    return lms.launch(client, auth, token)


# --- Names and Role Provisioning -------------------------------------------------------------------


def test_an_instructor_launch_syncs_the_roster_enrolling_exactly_its_active_learners(
    lms, client, world, django_capture_on_commit_callbacks
):
    course = world.physics.course
    before = set(course.enrolments.values_list("student__email", flat=True))  # Stu and Sam
    with django_capture_on_commit_callbacks(execute=True):
        response = instructor_launch(lms, client, world, **services_claims(lms))
    assert response.status_code == 302  # the launch went on; the sync ran after its commit

    # Procto asked for a token with a client assertion signed by its current key (kid in the
    # header), verified by the platform against /lti/jwks, for the roster scope only.
    [assertion] = lms.assertions
    assert assertion["header"]["kid"] == tool_key_current().kid
    assert list(lms.tokens.values()) == [[NRPS_SCOPE]]

    lti = course.enrolments.filter(source=Enrolment.Source.LTI)
    assert {e.student.lti_links.get().sub for e in lti.select_related("student")} == {"lms-lena", "lms-leo"}
    lena = User.objects.get(lti_links__sub="lms-lena")
    assert (lena.email, lena.first_name, lena.role) == ("lena@lms.example", "Lena", User.Role.STUDENT)
    assert not lena.has_usable_password()
    assert User.objects.get(lti_links__sub="lms-leo").email.endswith("@lti.invalid")
    # Neither the instructor, the mentor nor the inactive learner has an account or a place.
    for email in ("ian@lms.example", "mo@lms.example", "lou@lms.example"):
        assert not User.objects.filter(email=email).exists()
    assert set(course.enrolments.values_list("student__email", flat=True)) - before == {
        lena.email,
        User.objects.get(lti_links__sub="lms-leo").email,
    }
    assert LtiContext.objects.get(context_id="lms-course-7").roster_synced_at is not None

    # Lena's first launch finds the account the roster made: one account, signed in.
    learner = Client()
    auth = lms.login_initiation(learner)
    response = lms.launch(learner, auth, lms.id_token(auth, sub="lms-lena", roles=[LEARNER]))
    assert response.status_code == 302 and learner.session["_auth_user_id"] == str(lena.pk)
    assert User.objects.filter(first_name="Lena").count() == 1


def test_sync_roster_now_in_the_admin_keeps_learners_who_left_the_roster(
    lms, client, world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        instructor_launch(lms, client, world, **services_claims(lms))
    lms.roster[1] = [member("lms-mo", "Mentor")]  # Leo has left the LMS course
    lms.roster[0].append(member("lms-liv", "Learner", email="liv@lms.example"))
    context = LtiContext.objects.get(context_id="lms-course-7")
    admin = Client()
    admin.force_login(world.ada)
    with django_capture_on_commit_callbacks(execute=True):
        page = admin.post(
            "/admin/exam_sessions/lticontext/",
            {"action": "roster_sync_now", "_selected_action": [context.pk]},
            follow=True,
        )
    assert "Roster sync started for 1 LMS course" in page.content.decode()
    subs = set(
        world.physics.course.enrolments.filter(source=Enrolment.Source.LTI).values_list(
            "student__lti_links__sub", flat=True
        )
    )
    assert subs == {"lms-lena", "lms-leo", "lms-liv"}  # Liv joined; Leo is kept (docs/LTI.md)


def test_a_roster_sync_failing_at_the_platform_never_fails_the_launch(
    lms, client, world, django_capture_on_commit_callbacks, caplog
):
    lms.routes.pop(("GET", "/nrps/members"))  # the roster endpoint answers 404
    with django_capture_on_commit_callbacks(execute=True):
        response = instructor_launch(lms, client, world, **services_claims(lms))
    assert response.status_code == 302 and response["Location"] == f"/exams/{world.physics.pk}/consent/"
    assert not world.physics.course.enrolments.filter(source=Enrolment.Source.LTI).exists()
    given_up = [r for r in caplog.records if r.levelname == "ERROR" and "lti_roster_sync" in r.getMessage()]
    assert given_up and "404" in given_up[0].getMessage()  # retried, then logged by the worker


# --- Assignment and Grade Services ----------------------------------------------------------------


@pytest.fixture
def graded_exam(lms, client, world, django_capture_on_commit_callbacks):
    """Tess's link grants the score scope on line item 9; Stu, sitting physics, launches it once
    (so Procto knows his LMS sub). Physics has a choice question (2 points) and an essay (3)."""
    with django_capture_on_commit_callbacks(execute=True):
        instructor_launch(lms, client, world, **services_claims(lms))
    lms.assertions.clear()
    lms.tokens.clear()
    student = Client()
    auth = lms.login_initiation(student)
    token = lms.id_token(
        auth,
        sub="lms-stu",
        roles=[LEARNER],
        email=world.stu.email,
        **{CLAIM + "custom": {"procto_exam_id": str(world.physics.pk)}},
        **services_claims(lms),
    )
    assert lms.launch(student, auth, token).status_code == 302
    assert (
        LtiResourceLink.objects.get(resource_link_id="link-1").lineitem_url
        == f"{lms.base_url}/ags/lineitems/9"
    )
    session = world.stu_in_physics
    choice = Question.objects.create(
        exam=world.physics, type="MCQ", text="g?", options=["9.8", "3"], correct_answer="9.8", points=2
    )
    essay = Question.objects.create(exam=world.physics, type="Paragraph", text="Explain.", points=3)
    Answer.objects.create(session=session, question=choice, response="9.8")
    Answer.objects.create(session=session, question=essay, response="Because.")
    ExamSession.objects.filter(pk=session.pk).update(max_score=5)
    return session, essay


def test_the_grade_reaches_the_lms_line_item_when_grading_completes(
    lms, world, graded_exam, django_capture_on_commit_callbacks
):
    session, essay = graded_exam
    with django_capture_on_commit_callbacks(execute=True):
        services.exam_session_transition(session_id=session.pk, to=ExamSession.Status.SUBMITTED)
    assert lms.scores == []  # the essay waits for Tess: nothing to post yet

    with django_capture_on_commit_callbacks(execute=True):
        services.answer_grade(
            answer=session.answers.get(question=essay), grader=world.tess, score=Decimal("2.5")
        )
    [received] = lms.scores
    session.refresh_from_db()
    assert received["content_type"] == "application/vnd.ims.lis.v1.score+json"
    assert received["token"] in lms.tokens and lms.tokens[received["token"]] == [SCORE_SCOPE]
    score = received["score"]
    assert score["userId"] == "lms-stu" == LtiUser.objects.get(user=world.stu).sub
    assert (score["scoreGiven"], score["scoreMaximum"]) == (4.5, 5.0)
    assert (score["activityProgress"], score["gradingProgress"]) == ("Completed", "FullyGraded")
    assert score["timestamp"] == session.graded_at.isoformat(timespec="milliseconds")
    [assertion] = lms.assertions
    assert assertion["header"]["kid"] == tool_key_current().kid


# An LMS that is down, refuses, or is down for good; regrades; who sees the deliveries:
# test_lti_grades.py.


def test_a_session_of_an_exam_no_lms_grades_posts_nothing(lms, world, django_capture_on_commit_callbacks):
    session = world.sam_in_physics  # no link to physics, no LTI user: no task at all
    with django_capture_on_commit_callbacks(execute=True):
        services.exam_session_transition(session_id=session.pk, to=ExamSession.Status.SUBMITTED)
    session.refresh_from_db()
    assert session.grading == ExamSession.Grading.COMPLETE
    assert lms.scores == [] and lms.assertions == []
