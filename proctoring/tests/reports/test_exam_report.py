"""The per-exam report: every session with score, risk and alert counts, for those who oversee it."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path
from random import Random

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from exams.models import Question, QuestionBank
from exams.tests.factories import ExamFactory, enrol
from procto.errors import NotFoundError
from proctoring.models import ProctoringEvent
from proctoring.reports.exam_report import exam_report_rows, report_csv
from proctoring.tests.reports.reporting import proctored_session
from sessions.models import ExamSession
from sessions.services import exam_session_start
from sessions.tests.factories import ExamSessionFactory

pytestmark = pytest.mark.django_db

DOCUMENTED_REPORT_COLUMNS = [
    "session_id",
    "student_email",
    "student_name",
    "attempt",
    "status",
    "started_at",
    "ended_at",
    "duration_seconds",
    "final_score",
    "max_score",
    "risk_score",
    "flagged",
    "event_count",
    "confirmed_alert_count",
    "dismissed_alert_count",
    "open_alert_count",
    "high_severity_count",
    "outcome",
    "questions",
]


@pytest.fixture
def exam(teacher, proctor):
    exam = ExamFactory(created_by=teacher, title="Biology final")
    exam.proctors.add(proctor)
    return exam


@pytest.fixture
def sessions(exam, student, other_student, teacher):
    """The student's reviewed session (risk from its events), a classmate still writing with no
    events, and a third student's session with a high risk score."""
    reviewed = proctored_session(exam=exam, student=student, reviewer=teacher).session
    running = ExamSessionFactory(exam=exam, student=other_student, risk_score=0)
    risky = ExamSessionFactory(
        exam=exam,
        student=UserFactory(email="risky@school.example"),
        status=ExamSession.Status.CHEATING_DETECTED,
        ended_at=timezone.now(),
        risk_score=88,
        flagged=True,
    )
    ProctoringEvent.objects.create(
        session=risky,
        type="identity-mismatch",
        severity="critical",
        source="server",
        occurred_at=timezone.now(),
    )
    return {"reviewed": reviewed, "running": running, "risky": risky}


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_rows_count_confirmed_dismissed_and_open_alerts_per_session(teacher, exam, sessions):
    rows = {row.pk: row for row in exam_report_rows(user=teacher, exam_id=exam.pk)}
    reviewed = rows[sessions["reviewed"].pk]
    assert (reviewed.event_count, reviewed.confirmed_alert_count, reviewed.dismissed_alert_count) == (4, 1, 1)
    assert (reviewed.open_alert_count, reviewed.high_severity_count) == (2, 1)
    running = rows[sessions["running"].pk]
    assert (running.event_count, running.open_alert_count, running.high_severity_count) == (0, 0, 0)
    risky = rows[sessions["risky"].pk]
    assert (risky.event_count, risky.open_alert_count, risky.high_severity_count) == (1, 1, 1)


def test_rows_are_sorted_by_risk_highest_first_unless_asked_otherwise(teacher, exam, sessions):
    by_risk = [row.pk for row in exam_report_rows(user=teacher, exam_id=exam.pk)]
    assert by_risk == [sessions["risky"].pk, sessions["reviewed"].pk, sessions["running"].pk]
    ascending = [row.pk for row in exam_report_rows(user=teacher, exam_id=exam.pk, sort="risk")]
    assert ascending == list(reversed(by_risk))


def test_the_report_costs_two_queries_however_many_sessions(teacher, exam, django_assert_max_num_queries):
    for _ in range(30):
        session = ExamSessionFactory(exam=exam)
        ProctoringEvent.objects.bulk_create(
            ProctoringEvent(session=session, type="copy", source="client", occurred_at=timezone.now())
            for _ in range(3)
        )
    with django_assert_max_num_queries(2):
        rows = exam_report_rows(user=teacher, exam_id=exam.pk)
        assert sum(row.event_count for row in rows) == 90 and len({row.student.email for row in rows}) == 30


def test_the_csv_lists_each_students_own_questions_in_a_fixed_number_of_queries(
    teacher, exam, django_assert_max_num_queries
):
    exam.proctoring_enabled, exam.is_published = False, True
    exam.save()
    Question.objects.create(exam=exam, type="Paragraph", text="Own", order=1)
    bank = QuestionBank.objects.create(course=exam.course, title="Kinematics")
    for n in range(6):
        Question.objects.create(bank=bank, type="Paragraph", text=f"Bank {n}", order=n)
    Question.objects.create(exam=exam, type="Draw", draw_from=bank, draw_count=2, order=2, text="draw")
    students = UserFactory.create_batch(20, role="student")
    enrol(exam, *students)
    for n, student in enumerate(students):
        exam_session_start(exam=exam, student=student, rng=Random(n))
    sessions = list(ExamSession.objects.filter(exam=exam).select_related("student", "exam"))
    for session in sessions:
        session.event_count = session.confirmed_alert_count = session.dismissed_alert_count = 0
        session.open_alert_count = session.high_severity_count = 0
        session.outcome = "In progress"

    with django_assert_max_num_queries(2):
        rows = list(csv.DictReader(io.StringIO(report_csv(sessions))))

    own = Question.objects.get(text="Own").pk
    for row, session in zip(rows, sessions, strict=True):
        drawn = session.drawn_questions[next(iter(session.drawn_questions))]
        assert row["questions"] == f"Q1 #{own}; " + "; ".join(
            f"Q{n} #{pk} (bank Kinematics)" for n, pk in zip((2, 3), drawn, strict=True)
        )


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("the teacher", True),
        ("the assigned proctor", True),
        ("an admin", True),
        ("another teacher", False),
        ("an unassigned proctor", False),
        ("the student", False),
    ],
)
def test_the_report_is_only_for_those_who_oversee_the_exam(
    exam, sessions, student, teacher, proctor, admin_user, who, sees
):
    user = {
        "the teacher": teacher,
        "the assigned proctor": proctor,
        "an admin": admin_user,
        "another teacher": UserFactory(role="teacher"),
        "an unassigned proctor": UserFactory(role="proctor"),
        "the student": student,
    }[who]
    if sees:
        assert len(exam_report_rows(user=user, exam_id=exam.pk)) == 3
    else:
        with pytest.raises(NotFoundError):
            exam_report_rows(user=user, exam_id=exam.pk)


PAGE_EXPECTED = {
    "anonymous": 302,
    "student": 404,
    "another teacher": 404,
    "an unassigned proctor": 404,
    "teacher": 200,
    "proctor": 200,
    "admin": 200,
}


@pytest.mark.parametrize("who", PAGE_EXPECTED)
def test_the_report_page_by_role(client, exam, sessions, student, teacher, proctor, admin_user, who):
    people = {
        "student": student,
        "another teacher": UserFactory(role="teacher"),
        "an unassigned proctor": UserFactory(role="proctor"),
        "teacher": teacher,
        "proctor": proctor,
        "admin": admin_user,
    }
    if who in people:
        client.force_login(people[who])
    assert client.get(f"/exams/{exam.pk}/report/").status_code == PAGE_EXPECTED[who]


def test_the_page_lists_every_session_with_links_to_its_page_and_pdf(client, teacher, exam, sessions):
    client.force_login(teacher)
    page = client.get(f"/exams/{exam.pk}/report/").content.decode()
    for session in sessions.values():
        assert f"/proctoring/sessions/{session.pk}/" in page
        assert f"/proctoring/sessions/{session.pk}/report.pdf" in page
        assert f"/api/exam-sessions/{session.pk}/export?format=csv" in page
    assert page.index("risky@school.example") < page.index("student@school.example")
    assert page.index("student@school.example") < page.index("other.student@school.example")
    ascending = client.get(f"/exams/{exam.pk}/report/?sort=risk").content.decode()
    assert ascending.index("other.student@school.example") < ascending.index("risky@school.example")
    assert "Sorted by risk, lowest first" in ascending
    # An unknown sort is the default order, not an error.
    assert client.get(f"/exams/{exam.pk}/report/?sort=drop-table").status_code == 200


def test_the_api_report_has_the_counts_and_the_envelope(teacher, exam, sessions):
    body = client_for(teacher).get(f"/api/exam-sessions/reports?examId={exam.pk}&format=json").json()
    assert body["success"] is True
    rows = {row["id"]: row for row in body["data"]}
    assert set(rows) == {str(s.pk) for s in sessions.values()}  # in-progress sessions too
    reviewed = rows[str(sessions["reviewed"].pk)]
    assert reviewed["eventCount"] == 4 and reviewed["highSeverityCount"] == 1
    assert (reviewed["confirmedAlertCount"], reviewed["dismissedAlertCount"], reviewed["openAlertCount"]) == (
        1,
        1,
        2,
    )
    assert reviewed["finalScore"] == 7.5 and reviewed["maxScore"] == 10.0
    assert reviewed["attempt"] == sessions["reviewed"].attempt
    assert reviewed["links"]["pdf"] == f"/proctoring/sessions/{sessions['reviewed'].pk}/report.pdf"
    risky = rows[str(sessions["risky"].pk)]
    assert (risky["riskScore"], risky["flagged"], risky["status"]) == (88, True, "cheating-detected")
    assert body["data"][0]["id"] == str(sessions["risky"].pk)


def test_the_api_report_as_csv_has_the_documented_columns_and_a_row_per_session(teacher, exam, sessions):
    response = client_for(teacher).get(f"/api/exam-sessions/reports?examId={exam.pk}&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == f'attachment; filename="exam-{exam.pk}-report.csv"'
    reader = csv.reader(io.StringIO(response.content.decode()))
    assert next(reader) == DOCUMENTED_REPORT_COLUMNS
    rows = {
        r["student_email"]: r
        for r in (dict(zip(DOCUMENTED_REPORT_COLUMNS, row, strict=True)) for row in reader)
    }
    assert set(rows) == {"student@school.example", "other.student@school.example", "risky@school.example"}
    mine = rows["student@school.example"]
    assert (mine["confirmed_alert_count"], mine["dismissed_alert_count"], mine["open_alert_count"]) == (
        "1",
        "1",
        "2",
    )
    assert (mine["final_score"], mine["max_score"], mine["duration_seconds"]) == ("7.50", "10.00", "2100")
    assert (mine["status"], mine["event_count"], mine["outcome"]) == ("submitted", "4", "Submitted")
    assert mine["attempt"] == str(sessions["reviewed"].attempt)
    assert (
        rows["risky@school.example"]["flagged"] == "yes"
        and rows["risky@school.example"]["risk_score"] == "88.0"
    )
    assert rows["other.student@school.example"]["ended_at"] == ""
    assert rows["other.student@school.example"]["final_score"] == ""


def test_a_student_name_that_looks_like_a_formula_is_made_inert(teacher, exam, student):
    student.first_name, student.last_name = "=cmd|' /C calc'!A0", ""
    student.save()
    ExamSessionFactory(exam=exam, student=student)
    response = client_for(teacher).get(f"/api/exam-sessions/reports?examId={exam.pk}&format=csv")
    row = next(csv.DictReader(io.StringIO(response.content.decode())))
    assert row["student_name"] == "'=cmd|' /C calc'!A0"


def test_the_api_refuses_bad_input_with_a_clear_4xx(teacher, exam, sessions):
    api = client_for(teacher)
    bad_format = api.get(f"/api/exam-sessions/reports?examId={exam.pk}&format=xml")
    assert bad_format.status_code == 400 and "format" in bad_format.json()["error"]["details"]
    assert api.get(f"/api/exam-sessions/reports?examId={exam.pk}&sort=nope").status_code == 400
    assert api.get("/api/exam-sessions/reports?examId=abc").status_code == 404
    assert api.get("/api/exam-sessions/reports?examId=999999").status_code == 404
    other = ExamFactory()
    assert api.get(f"/api/exam-sessions/reports?examId={other.pk}&format=csv").status_code == 404


def test_the_api_without_an_exam_lists_finished_sessions_with_counts(teacher, exam, sessions):
    data = client_for(teacher).get("/api/exam-sessions/reports").json()["data"]
    assert {row["id"] for row in data} == {str(sessions["reviewed"].pk), str(sessions["risky"].pk)}
    assert {row["confirmedAlertCount"] for row in data} == {1, 0}


def test_an_ungraded_session_sorts_last_by_score(teacher, exam, sessions):
    sessions["risky"].final_score = 3
    sessions["risky"].save()
    order = [row.pk for row in exam_report_rows(user=teacher, exam_id=exam.pk, sort="-score")]
    assert order == [sessions["reviewed"].pk, sessions["risky"].pk, sessions["running"].pk]
    order = [row.pk for row in exam_report_rows(user=teacher, exam_id=exam.pk, sort="score")]
    assert order == [sessions["risky"].pk, sessions["reviewed"].pk, sessions["running"].pk]


def test_durations_run_to_now_while_a_session_is_in_progress(teacher, exam):
    ExamSessionFactory(exam=exam, started_at=timezone.now() - timedelta(minutes=12))
    response = client_for(teacher).get(f"/api/exam-sessions/reports?examId={exam.pk}&format=csv")
    row = next(csv.DictReader(io.StringIO(response.content.decode())))
    assert 12 * 60 <= int(row["duration_seconds"]) <= 12 * 60 + 5


def test_the_exam_admin_links_to_the_report_the_live_monitor_and_the_csv(client, teacher, exam, sessions):
    client.force_login(teacher)
    for page in (f"/admin/exams/exam/{exam.pk}/change/", "/admin/exams/exam/"):
        html = client.get(page).content.decode()
        assert f'href="/exams/{exam.pk}/report/"' in html
        assert f'href="/proctoring/monitor/?exam={exam.pk}"' in html
        assert f'href="/api/exam-sessions/reports?examId={exam.pk}&amp;format=csv"' in html


def test_the_session_admin_links_to_the_session_page_its_pdf_and_exports(client, teacher, sessions):
    client.force_login(teacher)
    session = sessions["reviewed"]
    admin_pages = "/admin/exam_sessions/examsession/"
    for page in (f"{admin_pages}{session.pk}/change/", admin_pages):
        html = client.get(page).content.decode()
        assert f'href="/proctoring/sessions/{session.pk}/"' in html
        assert f'href="/proctoring/sessions/{session.pk}/report.pdf"' in html
        assert f'href="/api/exam-sessions/{session.pk}/export?format=csv"' in html
        assert f'href="/api/exam-sessions/{session.pk}/export?format=json"' in html


def test_the_report_csv_columns_are_the_ones_protocol_md_documents():
    protocol = (Path(settings.BASE_DIR) / "docs" / "PROTOCOL.md").read_text()
    section = protocol.split("Exam report CSV columns", 1)[1].split("\n\n", 1)[0]
    assert re.findall(r"`([a-z_]+)`", section) == DOCUMENTED_REPORT_COLUMNS
