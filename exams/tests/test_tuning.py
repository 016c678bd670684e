"""An exam's tuning (exams.tuning): its sensitivity and risk weights are exam settings, set and
read back through the API and the admin, and the weights are checked against the conditions
proctoring installs (unknown names, records, weights out of 0 to 100 refused, with the reason)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from exams import tuning
from exams.models import Exam
from exams.services import exam_update
from exams.tests.factories import ExamFactory
from exams.tests.test_admin import exam_fields, management_data
from exams.tests.test_apis import reference_exam

pytestmark = pytest.mark.django_db


def test_the_api_returns_the_tuning_a_teacher_set_and_put_changes_it(api, teacher):
    api.force_authenticate(teacher)
    body = reference_exam()
    body["settings"] |= {"sensitivity": "strict", "riskWeights": {"tab-switch": 0, "paste": 12.5}}
    created = api.post("/api/exams", body, format="json")
    assert created.status_code == 201, created.json()
    exam_id = created.json()["data"]["id"]
    settings = api.get(f"/api/exams/{exam_id}").json()["data"]["settings"]
    # Keys are the condition types as sent: not camelCased on the way in or out.
    assert (settings["sensitivity"], settings["riskWeights"]) == ("strict", {"tab-switch": 0, "paste": 12.5})
    exam = Exam.objects.get(pk=exam_id)
    assert (exam.sensitivity, exam.risk_weights) == ("strict", {"tab-switch": 0, "paste": 12.5})

    body["settings"] |= {"sensitivity": "conservative", "riskWeights": {"multiple-voices": 20}}
    updated = api.put(f"/api/exams/{exam_id}", body, format="json")
    assert updated.status_code == 200, updated.json()
    settings = api.get(f"/api/exams/{exam_id}").json()["data"]["settings"]
    assert (settings["sensitivity"], settings["riskWeights"]) == ("conservative", {"multiple-voices": 20})


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"tab-switched": 0}, "Not a condition that counts towards the risk: tab-switched. Those that do: "),
        # A record and the automatic ending are never on the risk: no weight puts them there.
        ({"page-reload": 5}, "Not a condition that counts towards the risk: page-reload."),
        ({"cheating-detected": 5}, "Not a condition that counts towards the risk: cheating-detected."),
        ({"tab-switch": 101}, "The weight of tab-switch must be a number from 0 to 100."),
        ({"tab-switch": -1}, "The weight of tab-switch must be a number from 0 to 100."),
        ({"tab-switch": "0"}, "The weight of tab-switch must be a number from 0 to 100."),
        ({"tab-switch": True}, "The weight of tab-switch must be a number from 0 to 100."),
        (["tab-switch"], "Give the weights as a JSON object"),
        (None, "This field may not be null."),
    ],
)
def test_the_api_refuses_weights_that_mean_nothing_and_says_why(api, teacher, weights, message):
    api.force_authenticate(teacher)
    body = reference_exam()
    body["settings"]["riskWeights"] = weights
    response = api.post("/api/exams", body, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert message in error["details"]["settings"]["riskWeights"][0]
    assert not Exam.objects.exists()


def test_the_api_refuses_an_unknown_sensitivity(api, teacher):
    api.force_authenticate(teacher)
    body = reference_exam()
    body["settings"]["sensitivity"] = "paranoid"
    response = api.post("/api/exams", body, format="json")
    assert response.status_code == 400
    assert "sensitivity" in response.json()["error"]["details"]["settings"]
    assert not Exam.objects.exists()


def test_the_update_service_refuses_an_unknown_condition_too():
    exam = ExamFactory()
    with pytest.raises(ValidationError, match="tab-switched"):
        exam_update(exam=exam, risk_weights={"tab-switched": 0})
    exam.refresh_from_db()
    assert exam.risk_weights == {}


def test_no_weight_is_accepted_before_proctoring_installs_its_conditions(monkeypatch):
    monkeypatch.setattr(tuning, "_weight_defaults", None)
    with pytest.raises(ValidationError, match="Those that do: none"):
        tuning.risk_weights_validate({"tab-switch": 0})


def test_a_teacher_tunes_an_exam_in_the_admins_alerts_and_risk_section(client, teacher):
    exam = ExamFactory(created_by=teacher, title="Astronomy")
    client.force_login(teacher)
    url = f"/admin/exams/exam/{exam.pk}/change/"
    page = client.get(url).content
    text = page.decode()
    assert "Alerts and risk" in text
    # The help lists each condition's default, from the registry.
    assert "tab-switch 5" in text and "identity-mismatch 20" in text
    fields = exam_fields(sensitivity="conservative", risk_weights='{"tab-switch": 0}')
    response = client.post(url, management_data(page) | fields)
    assert response.status_code == 302, response.content.decode()[:2000]
    exam.refresh_from_db()
    assert (exam.sensitivity, exam.risk_weights) == ("conservative", {"tab-switch": 0})
    # An emptied box: the defaults again, stored as {} (not a JSON null).
    client.post(url, management_data(page) | exam_fields(risk_weights=""))
    exam.refresh_from_db()
    assert exam.risk_weights == {}


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ('{"tab-switched": 0}', "Not a condition that counts towards the risk: tab-switched."),
        ('{"tab-switch": 250}', "The weight of tab-switch must be a number from 0 to 100."),
        ('{"tab-switch": NaN}', "The weight of tab-switch must be a number from 0 to 100."),
        ("tab-switch: 0", "Enter a valid JSON."),
    ],
)
def test_the_admin_form_refuses_bad_weights_under_the_field(client, teacher, typed, message):
    exam = ExamFactory(created_by=teacher, title="Astronomy")
    client.force_login(teacher)
    url = f"/admin/exams/exam/{exam.pk}/change/"
    page = client.get(url).content
    # The course as the form shows it (left empty, an invalid form is a 500: a bug of its own).
    fields = exam_fields(risk_weights=typed, course=exam.course_id)
    response = client.post(url, management_data(page) | fields)
    assert response.status_code == 200  # the form again, not saved
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["risk_weights"]
    assert message in errors["risk_weights"][0]
    exam.refresh_from_db()
    assert exam.risk_weights == {}
