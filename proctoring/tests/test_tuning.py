"""An exam's tuning applied (proctoring.tuning): its risk weights in the risk of its sessions,
browser and server events alike, its sensitivity in when a condition the workers see becomes an
alert, both on the review page's formula, and docs/TUNING.md's table of defaults."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from accounts.tests.factories import UserFactory
from exams.services import exam_update
from proctoring.detections import observations_apply
from proctoring.models import ProctoringEvent
from proctoring.risk import default_weights, event_weight
from proctoring.services import event_record_client
from proctoring.tuning import defaults_table, document_with_defaults, exam_tuning
from sessions.tests.factories import ExamSessionFactory

pytestmark = pytest.mark.django_db


def switch_tabs(session, times: int) -> None:
    for seq in range(1, times + 1):
        event_record_client(session_id=session.pk, student=session.student, type="tab-switch", client_seq=seq)


def test_an_exam_weighing_tab_switches_zero_never_raises_risk_from_them_while_another_exams_default_does(
    world,
):
    exam_update(exam=world.chemistry, risk_weights={"tab-switch": 0})
    switch_tabs(world.cat_in_chemistry, 12)
    switch_tabs(world.hal_in_history, 12)  # history keeps the default weight, 5
    world.cat_in_chemistry.refresh_from_db()
    world.hal_in_history.refresh_from_db()
    assert ProctoringEvent.objects.filter(session=world.cat_in_chemistry, type="tab-switch").count() == 12
    assert (world.cat_in_chemistry.risk_score, world.cat_in_chemistry.flagged) == (0, False)
    assert (world.hal_in_history.risk_score, world.hal_in_history.flagged) == (60, True)


def test_a_weight_replaces_the_severity_a_browser_reports_and_a_record_weighs_nothing():
    assert event_weight("tab-switch", "high", {}) == 10  # the reported severity's, by default
    assert event_weight("tab-switch", "high", {"tab-switch": 1.5}) == 1.5
    assert event_weight("page-leave", "info", {"page-leave": 50}) == 0  # a pending departure


def test_only_alerts_that_count_towards_the_risk_can_be_weighed():
    weights = default_weights()
    assert weights["tab-switch"] == 5 and weights["identity-mismatch"] == 20
    assert "page-reload" not in weights  # a record
    assert "cheating-detected" not in weights  # the automatic ending


def opened_after(session, condition: str, *, seconds: int = 60) -> float | None:
    """Feed one observation a second of `condition` present, on a clock of our own (each
    observation's own time), and say how many seconds in its alert opened."""
    start = timezone.now() - timedelta(minutes=5)
    for second in range(seconds + 1):
        observations_apply(
            session_id=session.pk,
            source="frame",
            seq=second + 1,
            observed_at=start + timedelta(seconds=second),
            conditions={condition: True},
            details={"faceCount": 0},
        )
        if ProctoringEvent.objects.filter(session=session, type=condition).exists():
            return second
    return None


@pytest.mark.parametrize(("sensitivity", "opened"), [("strict", 5), ("standard", 10), ("conservative", 20)])
def test_the_sensitivity_scales_how_long_a_condition_lasts_before_its_alert_opens(world, sensitivity, opened):
    exam_update(exam=world.chemistry, sensitivity=sensitivity)  # medium security: onset 10 s
    assert opened_after(world.cat_in_chemistry, "face-not-visible") == opened


def test_strict_and_conservative_exams_fed_the_same_frames_open_at_different_times(world):
    exam_update(exam=world.chemistry, sensitivity="strict")
    exam_update(exam=world.history, sensitivity="conservative")  # both medium security
    assert opened_after(world.cat_in_chemistry, "speech-detected") == 2
    assert opened_after(world.hal_in_history, "speech-detected") == 8


def test_an_instant_condition_stays_instant_whatever_the_sensitivity(world):
    exam_update(exam=world.chemistry, sensitivity="conservative")
    assert exam_tuning(world.chemistry).onset("multiple-voices") == 0
    assert exam_tuning(world.chemistry).onset("tab-switch") == 0


def formula_rows(html: str) -> dict[str, tuple[str, bool]]:
    rows = re.findall(r'<tr data-type="([\w-]+)" data-weight="([\d.]+)"( class="changed")?>', html)
    return {type: (weight, bool(changed)) for type, weight, changed in rows}


def test_the_review_page_states_the_formula_with_the_exams_weights(client, world, teacher):
    exam_update(
        exam=world.physics, risk_weights={"tab-switch": 0, "multiple-voices": 20}, sensitivity="strict"
    )
    client.force_login(teacher)
    html = client.get(f"/proctoring/sessions/{world.stu_in_physics.pk}/").content.decode()
    rows = formula_rows(html)
    assert set(rows) == set(default_weights())
    assert rows["tab-switch"] == ("0", True)
    assert rows["multiple-voices"] == ("20", True)
    assert rows["face-not-visible"] == ("5", False)
    assert "(default 5)" in html and "(default 10)" in html
    assert "Sensitivity <b>Strict: quicker alerts</b>" in html
    assert "\N{MULTIPLICATION SIGN} 0.5 its usual time" in html
    # Another exam's page, with the defaults.
    other = formula_rows(client.get(f"/proctoring/sessions/{world.cat_in_chemistry.pk}/").content.decode())
    assert other["tab-switch"] == ("5", False)
    assert not any(changed for _, changed in other.values())


def test_changing_an_exams_weights_rescores_its_sessions(world, django_capture_on_commit_callbacks):
    switch_tabs(world.cat_in_chemistry, 4)
    ended = ExamSessionFactory(exam=world.chemistry, student=UserFactory(role="student"))
    switch_tabs(ended, 2)
    ended.status, ended.ended_at = "submitted", timezone.now()
    ended.save(update_fields=["status", "ended_at"])
    world.cat_in_chemistry.refresh_from_db()
    assert world.cat_in_chemistry.risk_score == 20
    with django_capture_on_commit_callbacks(execute=True):
        exam_update(exam=world.chemistry, risk_weights={"tab-switch": 1})
    world.cat_in_chemistry.refresh_from_db()
    ended.refresh_from_db()
    assert (world.cat_in_chemistry.risk_score, ended.risk_score) == (4, 2)
    # Saving without changing the weights rescores nothing.
    with django_capture_on_commit_callbacks() as callbacks:
        exam_update(exam=world.chemistry, title="Chemistry midterm, again")
    assert callbacks == []


def test_the_documented_defaults_are_the_registrys():
    document = (Path(django_settings.BASE_DIR) / "docs" / "TUNING.md").read_text()
    assert document_with_defaults(document) == document, (
        "docs/TUNING.md's table of defaults is not the registry's: run manage.py tuning_defaults --write"
    )
    assert defaults_table() in document
