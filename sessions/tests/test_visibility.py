"""Which exams a student meets is decided in one place, exams.selectors.exams_visible_to: the
dashboard, the exam pages, starting and asking for admission all follow it. (Courses and
enrolment will change that one rule; this test is what keeps it one.)"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from exams import selectors as exam_selectors
from sessions import admissions, services
from sessions.errors import ExamNotOpen
from sessions.selectors import student_dashboard

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_exams(make_exam):
    """Two open exams with no proctoring steps in the way; the second needs admission."""
    return make_exam(title="Algebra"), make_exam(title="Geometry", admission_required=True)


@pytest.fixture
def hidden_from_students(monkeypatch, open_exams):
    """A stand-in for a future rule (e.g. enrolment) that hides both exams from every student."""
    rule = exam_selectors.exams_visible_to

    def without_them(user):
        return rule(user).exclude(pk__in=[exam.pk for exam in open_exams])

    monkeypatch.setattr(exam_selectors, "exams_visible_to", without_them)


def test_a_student_sees_and_starts_the_exams_the_rule_shows(student, open_exams):
    algebra, geometry = open_exams
    titles = [entry.exam.title for entry in student_dashboard(student=student)["available"]]
    assert titles == ["Algebra", "Geometry"]
    session, created = services.exam_session_start(exam=algebra, student=student)
    assert created and session.exam == algebra
    admission, created = admissions.admission_request(exam=geometry, student=student)
    assert created and admission.exam == geometry


def test_an_exam_the_rule_hides_is_hidden_everywhere_a_student_meets_it(
    student, open_exams, hidden_from_students
):
    algebra, geometry = open_exams
    assert student_dashboard(student=student)["available"] == []
    client = APIClient()
    client.force_authenticate(student)
    assert client.get(f"/api/exams/{algebra.pk}").status_code == 404
    assert client.post("/api/exam-sessions/start", {"examId": algebra.pk}, format="json").status_code == 404
    # The services refuse it too, whoever calls them with the exam in hand.
    with pytest.raises(ExamNotOpen):
        services.exam_session_start(exam=algebra, student=student)
    with pytest.raises(ExamNotOpen):
        admissions.admission_request(exam=geometry, student=student)
