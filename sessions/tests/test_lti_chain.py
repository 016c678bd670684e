"""LTI 1.3 as one flow, against the simulated platform of test_lti.py with the services of
test_lti_advantage.py (token, roster, gradebook), over real HTTP on 127.0.0.1: a teacher places
an exam from the LMS with Deep Linking, a learner opens it, the roster comes in, and the learner's
grade lands in the LMS gradebook. Each step works only with what the step before produced (the
signed deep link response, the link the LMS made from it, the LTI sessions, the line item), so a
broken link anywhere fails this test; the tests of each step say why in more detail."""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qs

import jwt
import requests
from django.test import Client
from jwt.algorithms import RSAAlgorithm

from exams.models import Enrolment
from sessions.models import ExamSession, LtiContext, LtiResourceLink
from sessions.tests.test_lti import (  # noqa: F401 (platform: a fixture lms uses)
    CLAIM,
    CLIENT_ID,
    DEPLOYMENT,
    INSTRUCTOR,
    ISSUER,
    LEARNER,
    platform,
    signed_in,
)
from sessions.tests.test_lti_advantage import (  # noqa: F401 (fixtures)
    NRPS_SCOPE,
    SCORE_SCOPE,
    lms,
    services_claims,
    tasks_in_process,
)

DEEP_LINKING = "https://purl.imsglobal.org/spec/lti-dl/claim/"


class _Form(HTMLParser):
    """The action and fields of the form with a given id, as a browser would submit it."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.action, self.fields = form_id, False, None, {}

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == self.form_id:
            self.inside, self.action = True, attrs["action"]
        elif tag == "input" and self.inside and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value", "")

    def handle_endtag(self, tag) -> None:
        if tag == "form":
            self.inside = False


def form_in(html: str, form_id: str) -> tuple[str, dict[str, str]]:
    form = _Form(form_id)
    form.feed(html)
    assert form.action, f"no form #{form_id} in the page"
    return form.action, form.fields


def deep_link_return_endpoint(simulated, procto_keys: dict, placed: list[dict]):
    """The platform's deep_link_return_url: it believes a response only if it verifies with the
    keyset Procto gave it (found by the header's kid), is addressed to it and comes from its
    client, as an LMS does; then it makes a link from each content item."""

    def receive(handler, body: bytes):
        message = parse_qs(body.decode()).get("JWT", [""])[0]
        try:
            kid = jwt.get_unverified_header(message).get("kid")
            jwk = next(k for k in procto_keys["keys"] if k["kid"] == kid)
            claims = jwt.decode(
                message, RSAAlgorithm.from_jwk(jwk), algorithms=["RS256"], audience=ISSUER, issuer=CLIENT_ID
            )
        except (jwt.InvalidTokenError, StopIteration) as error:
            return 400, "text/plain", f"Deep linking response refused: {error!r}".encode()
        placed.append(claims)
        return 200, "text/html", b"<p>The exam was added to the course.</p>"

    simulated.routes[("POST", "/deep-link-return")] = receive
    return f"{simulated.base_url}/deep-link-return"


def test_an_exam_placed_by_deep_linking_is_taken_by_a_learner_whose_grade_reaches_the_lms(
    lms,  # noqa: F811
    client,
    world,
    make_exam,
    django_capture_on_commit_callbacks,
):
    optics = make_exam(title="Optics quiz", enrolled=[])  # Tess's, in a course nobody is in yet
    placed: list[dict] = []  # the deep linking responses the platform accepted
    # The keyset the school gave the LMS when it registered Procto (/lti/jwks).
    return_url = deep_link_return_endpoint(lms, client.get("/lti/jwks").json(), placed)
    tess = client

    # 1. Tess presses "Select content" in her LMS course: OIDC login initiation, then the
    # platform's Deep Linking request signs her in and opens Procto's picker.
    auth = lms.login_initiation(tess)
    settings = {
        "deep_link_return_url": return_url,
        "accept_types": ["ltiResourceLink"],
        "accept_presentation_document_targets": ["iframe", "window"],
        "data": "lms-slot-42",
    }
    request = {
        CLAIM + "message_type": "LtiDeepLinkingRequest",
        CLAIM + "resource_link": None,
        DEEP_LINKING + "deep_linking_settings": settings,
    }
    token = lms.id_token(auth, sub="lms-tess", roles=[INSTRUCTOR], email=world.tess.email, **request)
    response = lms.launch(tess, auth, token)
    assert response.status_code == 302 and response["Location"].startswith("/lti/deep-link/")
    assert signed_in(tess) == world.tess
    picker = response["Location"]
    assert "Optics quiz" in tess.get(picker).content.decode()

    # 2. She picks Optics; her browser posts the signed response to the platform, which checks
    # it with Procto's keys and makes a link (with a gradebook column) from its content item.
    action, fields = form_in(tess.post(picker, {"exam": optics.pk}).content.decode(), "lti-deep-link-return")
    assert action == return_url
    delivered = requests.post(action, data=fields, timeout=10)
    assert delivered.status_code == 200, delivered.text
    [message] = placed
    assert message[CLAIM + "message_type"] == "LtiDeepLinkingResponse"
    assert message[CLAIM + "deployment_id"] == DEPLOYMENT
    assert message.get(DEEP_LINKING + "data") == "lms-slot-42"  # the platform's own, echoed
    [item] = message[DEEP_LINKING + "content_items"]
    assert (item["type"], item["title"]) == ("ltiResourceLink", "Optics quiz")
    link = {
        CLAIM + "resource_link": {"id": "optics-link", "title": item["title"]},
        CLAIM + "target_link_uri": item["url"],
        CLAIM + "custom": item["custom"],
        **services_claims(lms),  # roster, and line item 9 for the link's column
    }

    # 3. Lena, new to Procto, opens the link as a Learner: she lands on Optics, enrolled.
    lena_browser = Client()
    auth = lms.login_initiation(lena_browser, target_link_uri=item["url"])
    token = lms.id_token(
        auth, sub="lms-lena", roles=[LEARNER], email="lena@lms.example", given_name="Lena", **link
    )
    response = lms.launch(lena_browser, auth, token)
    assert response.status_code == 302 and response["Location"] == f"/exams/{optics.pk}/consent/"
    lena = signed_in(lena_browser)
    assert Enrolment.objects.get(course=optics.course, student=lena).source == Enrolment.Source.LTI
    page = lena_browser.get(response["Location"], follow=True)
    assert page.status_code == 200 and "Optics quiz" in page.content.decode()

    # 4. Tess opens the link too: her launch syncs the roster (NRPS), enrolling the course's
    # other active learner, Leo (no e-mail shared), and no instructor, mentor or inactive member.
    auth = lms.login_initiation(tess, target_link_uri=item["url"])
    token = lms.id_token(auth, sub="lms-tess", roles=[INSTRUCTOR], **link)
    with django_capture_on_commit_callbacks(execute=True):
        response = lms.launch(tess, auth, token)
    assert response.status_code == 302 and signed_in(tess) == world.tess
    assert NRPS_SCOPE in [scope for scopes in lms.tokens.values() for scope in scopes]
    enrolled = Enrolment.objects.filter(course=optics.course, source=Enrolment.Source.LTI)
    assert set(enrolled.values_list("student__lti_links__sub", flat=True)) == {"lms-lena", "lms-leo"}
    assert LtiContext.objects.get(context_id="lms-course-7").roster_synced_at is not None
    assert LtiResourceLink.objects.get(resource_link_id="optics-link").exam == optics

    # 5. Lena sits the exam in the session her launch signed in: the choice questions are scored
    # at submission (4 of 4), the essay and the code wait for Tess, so nothing is posted yet.
    questions = {q.type: str(q.pk) for q in optics.questions.all()}
    started = lena_browser.post(
        "/api/exam-sessions/start", {"examId": optics.pk}, content_type="application/json"
    )
    assert started.status_code in (200, 201), started.json()
    session_id = started.json()["data"]["id"]
    answers = [
        {"questionId": questions["MCQ"], "studentAnswer": "Mercury"},
        {"questionId": questions["MCQ-multiple"], "studentAnswer": ["2", "7"]},
        {"questionId": questions["Paragraph"], "studentAnswer": "Blue light scatters more (Rayleigh)."},
        {"questionId": questions["Code"], "studentAnswer": "def is_even(n):\n    return n % 2 == 0"},
    ]
    with django_capture_on_commit_callbacks(execute=True):
        submitted = lena_browser.put(
            f"/api/exam-sessions/{session_id}/submit", {"answers": answers}, content_type="application/json"
        )
    assert submitted.status_code == 200, submitted.json()
    assert ExamSession.objects.get(pk=session_id).grading == ExamSession.Grading.PENDING
    assert lms.scores == []

    # 6. Tess grades the open answers on the grading page: the session is complete, 9 of 10, and
    # the score reaches the link's line item at the platform, for Lena's LMS user.
    session = ExamSession.objects.get(pk=session_id)
    open_answers = {a.question.type: a.pk for a in session.answers.select_related("question")}
    scores = {f"score-{open_answers['Paragraph']}": "3", f"score-{open_answers['Code']}": "2"}
    with django_capture_on_commit_callbacks(execute=True):
        graded = tess.post(f"/sessions/{session_id}/grade/", scores)
    assert graded.status_code == 302
    session.refresh_from_db()
    assert (session.grading, session.final_score, session.max_score) == (
        ExamSession.Grading.COMPLETE,
        Decimal(9),
        Decimal(10),
    )
    assert len(lms.scores) == 1, f"the platform received {lms.scores} at the line item"
    [received] = lms.scores
    assert received["content_type"] == "application/vnd.ims.lis.v1.score+json"
    assert SCORE_SCOPE in lms.tokens[received["token"]]
    score = received["score"]
    assert score["userId"] == "lms-lena"
    assert (score["scoreGiven"], score["scoreMaximum"]) == (9.0, 10.0)
    assert (score["activityProgress"], score["gradingProgress"]) == ("Completed", "FullyGraded")
