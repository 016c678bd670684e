"""Every exam setting in the registry reaches the model, the API, the admin and the demo seed."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.admin.utils import flatten_fieldsets
from django.core.management import call_command
from django.db import models
from django.test import override_settings

from exams.admin import ExamAdmin
from exams.demo import DEMO_EXAM_SETTINGS, DEMO_EXAM_TITLE
from exams.models import Exam
from exams.services import EXAM_FIELDS
from exams.settings_fields import EXAM_SETTINGS, exam_settings_from_api
from exams.tests.factories import ExamFactory

pytestmark = pytest.mark.django_db

API_NAMES = [setting.api_name for setting in EXAM_SETTINGS]


def test_every_setting_is_a_model_column_with_a_default():
    for setting in EXAM_SETTINGS:
        field = Exam._meta.get_field(setting.name)
        assert field.concrete and field.model is Exam, setting.name
        assert field.default is not models.NOT_PROVIDED, setting.name


def test_every_setting_is_a_key_of_the_api_settings_object_in_order(api, teacher):
    exam = ExamFactory(created_by=teacher)
    api.force_authenticate(teacher)
    settings = api.get(f"/api/exams/{exam.pk}").json()["data"]["settings"]
    assert list(settings) == API_NAMES
    assert settings == {s.api_name: getattr(exam, s.name) for s in EXAM_SETTINGS}


def test_every_setting_is_accepted_by_the_api_and_the_update_service():
    assert set(EXAM_FIELDS) >= {setting.name for setting in EXAM_SETTINGS}


def test_every_setting_has_a_field_on_the_admin_change_form(rf, client, teacher):
    exam = ExamFactory(created_by=teacher)
    request = rf.get("/")
    request.user = teacher
    in_fieldsets = flatten_fieldsets(ExamAdmin(Exam, None).get_fieldsets(request, exam))
    client.force_login(teacher)
    page = client.get(f"/admin/exams/exam/{exam.pk}/change/").content.decode()
    for setting in EXAM_SETTINGS:
        assert in_fieldsets.count(setting.name) == 1, setting.name
        assert f'name="{setting.name}"' in page, setting.name


def test_every_setting_is_named_in_the_seed_and_set_on_the_demo_exam(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    out = StringIO()
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=out)
    line = next(line for line in out.getvalue().splitlines() if line.startswith("Demo exam settings:"))
    for api_name in API_NAMES:
        assert f" {api_name}=" in line, api_name
    demo = Exam.objects.get(title=DEMO_EXAM_TITLE)
    defaults = {s.name: Exam._meta.get_field(s.name).get_default() for s in EXAM_SETTINGS}
    expected = defaults | exam_settings_from_api(DEMO_EXAM_SETTINGS)
    assert {name: getattr(demo, name) for name in expected} == expected


def test_a_misspelt_setting_name_is_refused_not_ignored():
    with pytest.raises(KeyError, match="autoTerminated"):
        exam_settings_from_api({"autoTerminated": True})
