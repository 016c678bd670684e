"""Exams made before courses existed keep their students: the migration puts each author's
exams in the author's own course and enrols everyone who had set out on one of them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [
    ("accounts", "0001_initial"),
    ("exams", "0003_exam_admission_required"),
    ("exam_sessions", "0002_admission"),
]


@pytest.mark.django_db(transaction=True)
def test_existing_exams_get_their_authors_course_and_their_students_stay_enrolled():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    User = apps.get_model("accounts", "User")
    Exam = apps.get_model("exams", "Exam")
    ExamSession = apps.get_model("exam_sessions", "ExamSession")
    ExamConsent = apps.get_model("exam_sessions", "ExamConsent")
    now = timezone.now()
    tess = User.objects.create(
        email="tess@school.example", first_name="Tess", last_name="Taylor", role="teacher"
    )
    stu = User.objects.create(email="stu@school.example", role="student")
    cat = User.objects.create(email="cat@school.example", role="student")
    User.objects.create(email="sid@school.example", role="student")
    window = {
        "start_time": now - timedelta(hours=1),
        "end_time": now + timedelta(days=1),
        "duration_minutes": 30,
    }
    physics = Exam.objects.create(title="Physics", created_by=tess, is_published=True, **window)
    chemistry = Exam.objects.create(title="Chemistry", created_by=tess, is_published=True, **window)
    ExamSession.objects.create(
        exam=physics, student=stu, attempt=1, started_at=now, deadline=now + timedelta(minutes=30)
    )
    ExamConsent.objects.create(exam=chemistry, user=cat)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(latest)
    apps = executor.loader.project_state(latest).apps
    Exam = apps.get_model("exams", "Exam")
    Course = apps.get_model("exams", "Course")
    [course] = Course.objects.all()
    assert course.title == "Tess Taylor's exams" and course.default_for_id == tess.pk
    assert list(course.teachers.values_list("pk", flat=True)) == [tess.pk]
    assert set(Exam.objects.values_list("course_id", flat=True)) == {course.pk}
    enrolled = set(course.enrolments.values_list("student__email", "source"))
    assert enrolled == {("stu@school.example", "migration"), ("cat@school.example", "migration")}
