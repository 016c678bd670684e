"""Proctor actions: warn, end, note, extend time, review alerts; each audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from proctoring.detections import observations_apply
from proctoring.models import ProctorAction, ProctoringEvent
from sessions.models import ExamSession

pytestmark = pytest.mark.django_db


def act(user, session, **body):
    client = APIClient()
    client.force_authenticate(user)
    return client.post(f"/api/exam-sessions/{session.pk}/actions", body, format="json")


def test_a_warning_is_audited(world):
    proctor = world.pat
    session = world.stu_in_physics  # Pat proctors physics
    response = act(proctor, session, type="warn", message="Eyes on your screen, please.")
    assert response.status_code == 201
    action = ProctorAction.objects.get()
    assert (action.actor, action.kind, action.details) == (
        proctor,
        "warn",
        {"message": "Eyes on your screen, please."},
    )


def test_ending_a_session_records_who_and_why(world):
    proctor = world.pat
    session = world.stu_in_physics  # Pat proctors physics
    act(proctor, session, type="terminate", reason="A second person answered for the student.")
    session.refresh_from_db()
    assert session.status == ExamSession.Status.CHEATING_DETECTED
    assert session.end_reason == "A second person answered for the student."
    assert ProctorAction.objects.get().kind == "terminate"


def test_a_session_is_not_ended_without_a_record_of_who_ended_it(world, monkeypatch):
    from proctoring import actions

    def audit_fails(*args, **kwargs):
        raise RuntimeError("the audit table is unwritable")

    monkeypatch.setattr(actions, "_audit", audit_fails)
    session = world.stu_in_physics
    with pytest.raises(RuntimeError):
        actions.session_terminate(actor=world.pat, session_id=session.pk, reason="Phone on the desk.")
    session.refresh_from_db()
    assert session.status == ExamSession.Status.IN_PROGRESS
    assert not ProctorAction.objects.exists()


def test_extending_time_moves_the_deadline(world):
    proctor = world.pat
    session = world.stu_in_physics  # Pat proctors physics
    before = session.deadline
    assert act(proctor, session, type="extend-time", minutes=10).status_code == 201
    session.refresh_from_db()
    assert session.deadline - before == timedelta(minutes=10)
    assert act(proctor, session, type="extend-time", minutes=500).status_code == 400


def test_each_action_needs_its_own_field(world):
    proctor = world.pat
    session = world.stu_in_physics  # Pat proctors physics
    response = act(proctor, session, type="warn")
    assert response.status_code == 400
    assert "message" in response.json()["error"]["details"]


def test_a_proctor_of_another_exam_cannot_act(world):
    # Quinn proctors history, not physics.
    assert act(world.quinn, world.stu_in_physics, type="note", text="hi").status_code == 404


def test_dismissing_an_alert_lowers_the_risk(world, settings, tmp_path):
    proctor = world.pat
    session = world.stu_in_physics  # Pat proctors physics
    from django.utils import timezone

    settings.MEDIA_ROOT = tmp_path
    start = timezone.now() - timedelta(minutes=3)
    for i in range(10):
        observations_apply(
            session_id=session.pk,
            source="frame",
            seq=i + 1,
            observed_at=start + timedelta(seconds=2 * i),
            conditions={"multiple-faces": True},
            details={},
        )
    session.refresh_from_db()
    risky = session.risk_score
    event = ProctoringEvent.objects.get()
    client = APIClient()
    client.force_authenticate(proctor)
    response = client.post(
        f"/api/proctoring-events/{event.pk}/review",
        {"status": "dismissed", "reason": "A poster"},
        format="json",
    )
    assert response.status_code == 200
    event.refresh_from_db()
    session.refresh_from_db()
    assert (event.review_status, event.reviewed_by, event.review_reason) == ("dismissed", proctor, "A poster")
    assert session.risk_score < risky
    assert ProctorAction.objects.get().kind == "review-alert"
