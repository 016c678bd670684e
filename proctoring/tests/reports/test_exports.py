"""A session's export (JSON and CSV): the documented shapes, with every review and action."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import jsonschema
import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from exams.tests.factories import ExamFactory
from proctoring.tests.faces import astronaut, jpeg_bytes
from proctoring.tests.reports.reporting import CONFIRM_REASON, DISMISS_REASON, NOTE_TEXT, proctored_session

pytestmark = pytest.mark.django_db

DOCS = Path(django_settings.BASE_DIR) / "docs"
SCHEMA = json.loads((DOCS / "schemas" / "session-export.schema.json").read_text())

# The documented columns (docs/PROTOCOL.md), in order: changing them breaks teachers' spreadsheets.
DOCUMENTED_CSV_COLUMNS = [
    "session_id",
    "student_email",
    "exam_title",
    "event_id",
    "timestamp",
    "type",
    "severity",
    "source",
    "confidence",
    "details",
    "ended_at",
    "duration_seconds",
    "received_at",
    "review_status",
    "review_reason",
    "reviewed_by",
    "reviewed_at",
    "has_snapshot",
]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def reviewed(student, teacher):
    exam = ExamFactory(created_by=teacher, title="Chemistry")
    return proctored_session(exam=exam, student=student, reviewer=teacher, snapshot=jpeg_bytes(astronaut()))


@pytest.fixture
def as_teacher(teacher):
    client = APIClient()
    client.force_authenticate(teacher)
    return client


def export(client, session, fmt: str):
    response = client.get(f"/api/exam-sessions/{session.pk}/export?format={fmt}")
    assert response.status_code == 200, response.content[:300]
    return response


def test_the_json_export_validates_against_the_published_schema(as_teacher, reviewed):
    body = export(as_teacher, reviewed.session, "json").json()
    assert body["success"] is True
    jsonschema.validate(body["data"], SCHEMA, format_checker=jsonschema.FormatChecker())


def test_the_schema_rejects_an_export_missing_its_audit_trail(as_teacher, reviewed):
    data = export(as_teacher, reviewed.session, "json").json()["data"]
    del data["actions"]
    with pytest.raises(jsonschema.ValidationError, match="actions"):
        jsonschema.validate(data, SCHEMA)
    data = export(as_teacher, reviewed.session, "json").json()["data"]
    data["events"][0]["reviewStatus"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA)


def test_the_json_export_carries_review_decisions_and_proctor_actions(as_teacher, reviewed):
    data = export(as_teacher, reviewed.session, "json").json()["data"]
    events = {e["type"]: e for e in data["events"]}
    assert list(events) == ["tab-switch", "face-not-visible", "multiple-faces", "paste"]
    confirmed = events["multiple-faces"]
    assert (confirmed["reviewStatus"], confirmed["reviewReason"]) == ("confirmed", CONFIRM_REASON)
    assert confirmed["reviewedBy"]["email"] == "teacher@school.example"
    assert confirmed["reviewedAt"] is not None
    assert confirmed["hasSnapshot"] is True and confirmed["durationSeconds"] == 60
    assert confirmed["endedAt"] is not None and confirmed["confidence"] == 0.93
    assert events["face-not-visible"]["reviewStatus"] == "dismissed"
    assert events["face-not-visible"]["reviewReason"] == DISMISS_REASON
    assert events["tab-switch"]["reviewedBy"] is None and events["tab-switch"]["hasSnapshot"] is False
    assert events["tab-switch"]["endedAt"] is None and events["tab-switch"]["durationSeconds"] == 0

    trail = [(a["kind"], a["actor"]["email"]) for a in data["actions"]]
    assert trail == [
        ("review-alert", "teacher@school.example"),
        ("review-alert", "teacher@school.example"),
        ("note", "teacher@school.example"),
        ("export", "teacher@school.example"),  # this very export, on the record
    ]
    assert data["actions"][0]["details"]["reason"] == CONFIRM_REASON
    assert data["actions"][2]["details"]["text"] == NOTE_TEXT
    assert data["student"]["email"] == "student@school.example"
    assert (data["finalScore"], data["maxScore"], data["flagged"]) == (7.5, 10.0, reviewed.session.flagged)
    assert data["riskScore"] == reviewed.session.risk_score and data["eventCount"] == 4


def test_the_csv_has_the_documented_columns_and_one_row_per_event(as_teacher, reviewed):
    response = export(as_teacher, reviewed.session, "csv")
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == f'attachment; filename="session-{reviewed.session.pk}.csv"'
    reader = csv.reader(io.StringIO(response.content.decode()))
    assert next(reader) == DOCUMENTED_CSV_COLUMNS
    rows = [dict(zip(DOCUMENTED_CSV_COLUMNS, row, strict=True)) for row in reader]
    assert [r["type"] for r in rows] == ["tab-switch", "face-not-visible", "multiple-faces", "paste"]
    assert [int(r["event_id"]) for r in rows] == [e.pk for e in reviewed.events.values()]
    faces = rows[2]
    assert (faces["review_status"], faces["review_reason"]) == ("confirmed", CONFIRM_REASON)
    assert faces["reviewed_by"] == "teacher@school.example" and faces["reviewed_at"]
    assert (faces["has_snapshot"], faces["duration_seconds"], faces["confidence"]) == ("yes", "60.0", "0.93")
    assert json.loads(faces["details"]) == {"faceCount": 2}
    assert rows[1]["review_status"] == "dismissed" and rows[1]["review_reason"] == DISMISS_REASON
    assert (rows[0]["review_status"], rows[0]["reviewed_by"], rows[0]["has_snapshot"]) == ("open", "", "no")
    assert rows[0]["ended_at"] == "" and rows[0]["duration_seconds"] == "0.0"


def test_the_csv_columns_are_the_ones_protocol_md_documents():
    protocol = (DOCS / "PROTOCOL.md").read_text()
    section = protocol.split("Session export CSV columns", 1)[1].split("\n\n", 1)[0]
    assert re.findall(r"`([a-z_]+)`", section) == DOCUMENTED_CSV_COLUMNS


def test_a_title_that_looks_like_a_formula_is_made_inert(as_teacher, student, teacher):
    exam = ExamFactory(created_by=teacher, title="+SUM(A1:A9)")
    session = proctored_session(exam=exam, student=student, reviewer=teacher).session
    rows = list(csv.DictReader(io.StringIO(export(as_teacher, session, "csv").content.decode())))
    assert {r["exam_title"] for r in rows} == {"'+SUM(A1:A9)"}


def test_the_export_reads_a_bounded_number_of_rows_however_long_the_session(
    as_teacher, reviewed, django_assert_max_num_queries
):
    from proctoring.models import ProctoringEvent

    session = reviewed.session
    ProctoringEvent.objects.bulk_create(
        ProctoringEvent(session=session, type="copy", source="client", occurred_at=session.started_at)
        for _ in range(200)
    )
    # Authentication, the session with its scope check, answers, events, actions.
    with django_assert_max_num_queries(8):
        data = export(as_teacher, session, "json").json()["data"]
    assert len(data["events"]) == 204
    with django_assert_max_num_queries(8):
        assert len(export(as_teacher, session, "csv").content.decode().splitlines()) == 205


def test_every_export_is_on_the_sessions_audit_trail_and_refusals_are_not(
    as_teacher, reviewed, client, teacher
):
    from accounts.tests.factories import UserFactory
    from proctoring.models import ProctorAction

    session = reviewed.session
    export(as_teacher, session, "json")
    export(as_teacher, session, "csv")
    client.force_login(teacher)
    assert client.get(f"/proctoring/sessions/{session.pk}/report.pdf").status_code == 200
    # Refused: a bad format, and a proctor not assigned to the exam.
    assert as_teacher.get(f"/api/exam-sessions/{session.pk}/export?format=xml").status_code == 400
    stranger = APIClient()
    stranger.force_authenticate(UserFactory(role="proctor"))
    assert stranger.get(f"/api/exam-sessions/{session.pk}/export?format=json").status_code == 404

    exports = ProctorAction.objects.filter(session=session, kind="export").order_by("id")
    assert [(a.actor, a.details["format"]) for a in exports] == [
        (teacher, "json"),
        (teacher, "csv"),
        (teacher, "pdf"),
    ]
    review_page = client.get(f"/proctoring/sessions/{session.pk}/").content.decode()
    assert "Exported the record as PDF" in review_page


def test_exports_keep_iso_8601_utc_whatever_the_readers_zone(as_teacher, teacher, reviewed):
    # CSV and JSON are for programs and spreadsheets: one unambiguous instant, not a local reading.
    import zoneinfo

    from django.utils.dateparse import parse_datetime

    teacher.time_zone = zoneinfo.ZoneInfo("America/New_York")
    teacher.save()
    rows = list(csv.DictReader(io.StringIO(export(as_teacher, reviewed.session, "csv").content.decode())))
    events = export(as_teacher, reviewed.session, "json").json()["data"]["events"]
    for row, event in zip(rows, events, strict=True):
        assert row["timestamp"].endswith("+00:00") and event["timestamp"].endswith(("Z", "+00:00"))
        assert parse_datetime(row["timestamp"]) == parse_datetime(event["timestamp"])
