"""Retention periods (exams.retention): one per kind in the settings, each overridable per exam
through the exam's settings (API and admin), and read back as the exam's own or the site's."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from exams.models import Exam
from exams.retention import RETENTION_KEYS, RETENTION_KINDS, retention_days, retention_periods
from exams.tests.factories import ExamFactory
from exams.tests.test_apis import reference_exam

pytestmark = pytest.mark.django_db


def test_the_settings_give_a_period_to_every_kind_and_no_other():
    assert set(django_settings.DATA_RETENTION_DAYS) == set(RETENTION_KEYS)
    assert all(isinstance(days, int) and days >= 0 for days in django_settings.DATA_RETENTION_DAYS.values())


def test_an_exam_without_its_own_period_has_the_sites(settings):
    settings.DATA_RETENTION_DAYS = dict.fromkeys(RETENTION_KEYS, 30) | {"answers": 365}
    exam = ExamFactory(retention_frames_days=7)
    periods = {period.kind.key: period.days for period in retention_periods(exam)}
    assert periods == {
        "frames": 7,
        "screenshots": 30,
        "audio": 30,
        "room_scans": 30,
        "identity": 30,
        "answers": 365,
    }
    assert retention_days(exam, "frames") == 7
    settings.DATA_RETENTION_DAYS = dict.fromkeys(RETENTION_KEYS, 3)
    assert retention_days(exam, "audio") == 3


def test_a_teacher_sets_an_exams_periods_through_the_api(api, teacher):
    api.force_authenticate(teacher)
    body = reference_exam()
    body["settings"] |= {"retentionFramesDays": 0, "retentionAnswersDays": 730}
    created = api.post("/api/exams", body, format="json")
    assert created.status_code == 201, created.json()
    exam = Exam.objects.get()
    assert (exam.retention_frames_days, exam.retention_answers_days, exam.retention_audio_days) == (
        0,
        730,
        None,
    )
    returned = created.json()["data"]["settings"]
    assert {
        kind.key: returned[f"retention{kind.key.title().replace('_', '')}Days"] for kind in RETENTION_KINDS
    } == {
        "frames": 0,
        "screenshots": None,
        "audio": None,
        "room_scans": None,
        "identity": None,
        "answers": 730,
    }


@pytest.mark.parametrize("days", [-1, 3651, "forever"])
def test_a_period_out_of_range_is_refused(api, teacher, days):
    api.force_authenticate(teacher)
    body = reference_exam()
    body["settings"]["retentionRoomScansDays"] = days
    response = api.post("/api/exams", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "retentionRoomScansDays" in str(response.json()["error"]["details"])
    assert not Exam.objects.exists()


def test_the_exam_admin_has_a_data_retention_section_with_every_kind(client, teacher):
    exam = ExamFactory(created_by=teacher)
    client.force_login(teacher)
    page = client.get(f"/admin/exams/exam/{exam.pk}/change/").content.decode()
    assert "Data retention" in page
    for kind in RETENTION_KINDS:
        assert f'name="{kind.exam_field}"' in page
