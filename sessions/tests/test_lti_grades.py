"""Scores on their way to the LMS gradebook (sessions.lti.grades), against the simulated platform
of test_lti.py / test_lti_advantage.py (real RSA keys, a real token endpoint over HTTP): each is a
record that says how its delivery went; an LMS that was down gets it on a later sweep (beat with
services, the teachers' pages in embedded mode); a refusal is shown with its reason and not
retried until a teacher sends it again; a regrade sends the new score; the exam's teachers see
it all on the exam report, another course's teacher nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from procto.celery import app as celery_app
from sessions import services
from sessions.lti import grades
from sessions.models import ExamSession, LtiPlatform, LtiScoreDelivery, LtiUser
from sessions.tests import test_lti_advantage as advantage
from sessions.tests.test_lti import platform  # noqa: F401

# The fixtures of the LTI Advantage tests: the platform's services, Stu's launch and his exam.
lms, graded_exam, tasks_in_process = advantage.lms, advantage.graded_exam, advantage.tasks_in_process
State = LtiScoreDelivery.State
REFUSAL = "User lms-stu is not enrolled in course PHY101"


@pytest.fixture
def line_item(lms):
    """The line item's score endpoint, switchable: "up" records the score, "down" answers 503 as
    an LMS in maintenance does, "refusing" answers 400 with the reason a Moodle would give."""
    lms.score_mode = "up"

    def scores(handler, body):
        if lms.score_mode == "down":
            lms.scores.append({"failed": True})
            return 503, "text/html", b"<h1>Down for maintenance</h1>"
        if lms.score_mode == "refusing":
            lms.scores.append({"failed": True})
            return 400, "application/json", json.dumps({"errors": [REFUSAL]}).encode()
        assert handler.headers["Authorization"][7:] in lms.tokens
        lms.scores.append({"score": json.loads(body)})
        return 200, "application/json", b"{}"

    lms.routes[("POST", "/ags/lineitems/9/scores")] = scores
    return lms


def received(platform_services) -> list:
    return [
        (s["score"]["scoreGiven"], s["score"]["scoreMaximum"])
        for s in platform_services.scores
        if "score" in s
    ]


def graded(world, session, essay, score, django_capture_on_commit_callbacks) -> None:
    """Tess grades Stu's essay (the choice question is worth 2): grading completes."""
    with django_capture_on_commit_callbacks(execute=True):
        if session.status == ExamSession.Status.IN_PROGRESS:
            services.exam_session_transition(session_id=session.pk, to=ExamSession.Status.SUBMITTED)
        services.answer_grade(
            answer=session.answers.get(question=essay), grader=world.tess, score=Decimal(score)
        )
    session.refresh_from_db()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def report(client, world):
    return client.get(reverse("exam-report", args=[world.physics.pk]))


def test_embedded_mode_a_grade_the_lms_missed_arrives_when_a_teacher_page_is_read_after_the_backoff(
    line_item, world, graded_exam, django_capture_on_commit_callbacks, settings
):
    settings.SERVICES_MODE = False
    session, essay = graded_exam
    line_item.score_mode = "down"
    graded(world, session, essay, 3, django_capture_on_commit_callbacks)
    # Grading is intact; one attempt was made, and the score waits, a minute away.
    assert (session.grading, session.final_score) == (ExamSession.Grading.COMPLETE, Decimal(5))
    assert received(line_item) == [] and len(line_item.scores) == 1
    delivery = LtiScoreDelivery.objects.get(session=session)
    assert (delivery.state, delivery.attempts, delivery.score_given) == (State.WAITING, 1, Decimal(5))
    assert "503" in delivery.last_error
    assert timezone.now() + timedelta(seconds=50) < delivery.next_attempt_at

    line_item.score_mode = "up"
    tess = signed_in(world.tess)
    report(tess, world)  # not due yet: nothing is sent
    assert len(line_item.scores) == 1
    with time_machine.travel(timezone.now() + timedelta(minutes=3), tick=True):
        page = report(tess, world).content.decode()
    assert received(line_item) == [(5.0, 5.0)]
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == (State.DELIVERED, 2, None)
    assert delivery.delivered_at is not None
    assert "1 delivered" in page and "0 waiting" in page


def test_services_mode_a_grade_the_lms_missed_arrives_on_the_beat_sweep_not_on_page_reads(
    line_item, world, graded_exam, django_capture_on_commit_callbacks, settings
):
    settings.SERVICES_MODE = True
    assert django_settings.CELERY_BEAT_SCHEDULE["lti-scores"] == {
        "task": "sessions.tasks.lti_scores_post_due",
        "schedule": 60.0,
    }
    session, essay = graded_exam
    line_item.score_mode = "down"
    graded(world, session, essay, 3, django_capture_on_commit_callbacks)
    line_item.score_mode = "up"
    with time_machine.travel(timezone.now() + timedelta(minutes=3), tick=True):
        report(signed_in(world.tess), world)  # a page read stays a read with services
        assert received(line_item) == []
        celery_app.signature("sessions.tasks.lti_scores_post_due").delay()  # what beat sends
    assert received(line_item) == [(5.0, 5.0)]
    assert LtiScoreDelivery.objects.get(session=session).state == State.DELIVERED


def test_services_mode_a_broker_down_at_grading_leaves_the_score_waiting_for_the_sweep(
    line_item, world, graded_exam, django_capture_on_commit_callbacks, settings, monkeypatch
):
    settings.SERVICES_MODE = True
    session, essay = graded_exam

    def broker_down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    with monkeypatch.context() as patched:
        patched.setattr(celery_app, "signature", broker_down)
        graded(world, session, essay, 3, django_capture_on_commit_callbacks)
    assert (session.grading, session.final_score) == (ExamSession.Grading.COMPLETE, Decimal(5))
    assert received(line_item) == []
    assert LtiScoreDelivery.objects.get(session=session).state == State.WAITING
    assert grades.lti_scores_post_due() == 1
    assert received(line_item) == [(5.0, 5.0)]


def test_an_lms_down_for_good_is_given_up_after_its_attempts_and_shown(
    line_item, world, graded_exam, django_capture_on_commit_callbacks, settings, monkeypatch, caplog
):
    settings.SERVICES_MODE = True
    monkeypatch.setattr(grades, "ATTEMPTS_MAX", 3)
    session, essay = graded_exam
    line_item.score_mode = "down"
    graded(world, session, essay, 1, django_capture_on_commit_callbacks)
    for minutes in (2, 5):  # the 2nd attempt a minute after the 1st, the 3rd two minutes later
        with time_machine.travel(timezone.now() + timedelta(minutes=minutes), tick=True):
            assert grades.lti_scores_post_due() == 1
    delivery = LtiScoreDelivery.objects.get(session=session)
    assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == (State.GIVEN_UP, 3, None)
    assert len(line_item.scores) == 3
    with time_machine.travel(timezone.now() + timedelta(days=2), tick=True):
        assert grades.lti_scores_post_due() == 0
    assert any(r.levelname == "ERROR" and "given up" in r.getMessage() for r in caplog.records)
    session.refresh_from_db()
    assert (session.final_score, session.graded_by) == (Decimal(3), world.tess)
    page = report(signed_in(world.tess), world).content.decode()
    assert "1 given up" in page and "Send again" in page


def test_a_refusal_is_shown_with_its_reason_not_retried_until_a_teacher_sends_it_again(
    line_item, world, graded_exam, django_capture_on_commit_callbacks, settings
):
    settings.SERVICES_MODE = False
    session, essay = graded_exam
    line_item.score_mode = "refusing"
    graded(world, session, essay, 3, django_capture_on_commit_callbacks)
    delivery = LtiScoreDelivery.objects.get(session=session)
    assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == (State.REFUSED, 1, None)
    assert "400" in delivery.last_error and REFUSAL in delivery.last_error

    tess = signed_in(world.tess)
    with time_machine.travel(timezone.now() + timedelta(hours=3), tick=True):
        page = report(tess, world).content.decode()
        assert grades.lti_scores_post_due() == 0
    assert len(line_item.scores) == 1  # never tried again by itself
    assert "1 refused by the LMS" in page and REFUSAL in page and "Stu" in page

    line_item.score_mode = "up"  # the school enrols Stu in the LMS course, Tess sends it again
    response = tess.post(
        reverse("exam-lti-scores-retry", args=[world.physics.pk]), {"delivery": delivery.pk}, follow=True
    )
    assert received(line_item) == [(5.0, 5.0)]
    delivery.refresh_from_db()
    assert delivery.state == State.DELIVERED
    assert "1 delivered" in response.content.decode()


def test_a_regrade_posts_the_new_score_with_a_later_timestamp(
    line_item, world, graded_exam, django_capture_on_commit_callbacks
):
    session, essay = graded_exam
    graded(world, session, essay, "2.5", django_capture_on_commit_callbacks)
    first = LtiScoreDelivery.objects.get(session=session)
    assert received(line_item) == [(4.5, 5.0)] and first.state == State.DELIVERED

    graded(world, session, essay, 1, django_capture_on_commit_callbacks)  # Tess changes her mind
    assert received(line_item) == [(4.5, 5.0), (3.0, 5.0)]
    again = LtiScoreDelivery.objects.get(session=session)
    assert (again.state, again.score_given, again.attempts) == (State.DELIVERED, Decimal(3), 1)
    stamps = [s["score"]["timestamp"] for s in line_item.scores]
    assert stamps[1] > stamps[0]  # the LMS keeps the latest


def test_a_regrade_while_the_lms_is_down_replaces_the_waiting_score(
    line_item, world, graded_exam, django_capture_on_commit_callbacks, settings
):
    settings.SERVICES_MODE = True
    session, essay = graded_exam
    line_item.score_mode = "down"
    graded(world, session, essay, 3, django_capture_on_commit_callbacks)
    graded(world, session, essay, 2, django_capture_on_commit_callbacks)
    delivery = LtiScoreDelivery.objects.get(session=session)
    assert (delivery.state, delivery.score_given, delivery.attempts) == (State.WAITING, Decimal(4), 1)
    line_item.score_mode = "up"
    with time_machine.travel(timezone.now() + timedelta(minutes=3), tick=True):
        grades.lti_scores_post_due()
    assert received(line_item) == [(4.0, 5.0)]  # never the replaced 5


def test_the_exams_teachers_and_admins_see_the_deliveries_others_do_not(
    line_item, world, graded_exam, django_capture_on_commit_callbacks, settings
):
    settings.SERVICES_MODE = False
    session, essay = graded_exam
    line_item.score_mode = "refusing"
    graded(world, session, essay, 3, django_capture_on_commit_callbacks)
    delivery = LtiScoreDelivery.objects.get(session=session)

    for user in (world.tess, world.ada):
        page = report(signed_in(user), world).content.decode()
        assert "Scores in the LMS gradebook" in page and REFUSAL in page
    # Pat proctors physics: she reads its report, not its gradebook nor the LMS's reasons.
    page = report(signed_in(world.pat), world).content.decode()
    assert "Scores in the LMS gradebook" not in page and REFUSAL not in page
    retry = reverse("exam-lti-scores-retry", args=[world.physics.pk])
    assert signed_in(world.pat).post(retry).status_code == 403

    # Vic teaches History 201: Tess's exam does not exist for him.
    vic = signed_in(world.vic)
    assert report(vic, world).status_code == 404
    assert vic.post(retry, {"delivery": delivery.pk}).status_code == 404
    assert vic.get(reverse("admin:exam_sessions_ltiscoredelivery_changelist")).status_code in (302, 403)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, len(line_item.scores)) == (State.REFUSED, 1, 1)

    # The admin lists it, with its reason.
    admin_page = signed_in(world.ada).get(reverse("admin:exam_sessions_ltiscoredelivery_changelist"))
    assert admin_page.status_code == 200 and REFUSAL in admin_page.content.decode()


def test_a_failure_inside_procto_is_counted_like_an_unreachable_lms_not_retried_forever(
    line_item, world, graded_exam, django_capture_on_commit_callbacks, settings, monkeypatch
):
    settings.SERVICES_MODE = True
    session, essay = graded_exam

    def unreadable_key(registration):
        raise ValueError("the tool key cannot be decrypted")

    monkeypatch.setattr(grades, "service_connector", unreadable_key)
    graded(world, session, essay, 3, django_capture_on_commit_callbacks)
    delivery = LtiScoreDelivery.objects.get(session=session)
    assert (delivery.state, delivery.attempts) == (State.WAITING, 1)
    assert "Procto could not send it (ValueError)" in delivery.last_error
    monkeypatch.undo()
    with time_machine.travel(timezone.now() + timedelta(minutes=3), tick=True):
        assert grades.lti_scores_post_due() == 1
    assert received(line_item) == [(5.0, 5.0)]


def test_embedded_mode_a_page_read_tries_one_student_of_an_lms_still_down_not_each_in_turn(
    line_item, world, graded_exam, django_capture_on_commit_callbacks, settings
):
    settings.SERVICES_MODE = False
    session, essay = graded_exam
    LtiUser.objects.create(platform=LtiPlatform.objects.get(), sub="lms-sam", user=world.sam)
    ExamSession.objects.filter(pk=world.sam_in_physics.pk).update(max_score=5)
    line_item.score_mode = "down"
    graded(world, session, essay, 3, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):  # Sam answered nothing: graded at once
        services.exam_session_transition(session_id=world.sam_in_physics.pk, to=ExamSession.Status.SUBMITTED)
    assert len(line_item.scores) == 2
    tess = signed_in(world.tess)
    with time_machine.travel(timezone.now() + timedelta(minutes=3), tick=True):
        report(tess, world)  # still down: the first post fails, the page does not try Sam's too
        assert len(line_item.scores) == 3
        line_item.score_mode = "up"
        report(tess, world)
    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=True):
        page = report(tess, world).content.decode()
    assert sorted(received(line_item)) == [(0.0, 5.0), (5.0, 5.0)]
    assert "2 delivered" in page
