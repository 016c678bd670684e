"""Courses in a real browser: a student of Physics 101 sees and takes its exam; for a student of
History 201 and for a student in no course that exam does not exist; History's teacher sees
neither the session nor Physics' students in the admin."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD
from exams.services import exam_create
from procto.tests.browser import BROWSER_TEST_MARKS, in_thread, log_in
from sessions.models import ExamSession

pytestmark = BROWSER_TEST_MARKS


def quiz_build(world):
    now = timezone.now()
    return exam_create(
        author=world.tess,
        course=world.physics.course,  # Physics 101: Stu and Sam
        title="Optics quiz",
        duration_minutes=20,
        start_time=now - timedelta(minutes=5),
        end_time=now + timedelta(hours=2),
        is_published=True,
        # No camera steps: this test is about who meets the exam, not the proctoring.
        proctoring_enabled=False,
        questions=[{"type": "Paragraph", "text": "Why is the sky blue?", "points": 1}],
    )


@pytest.fixture
def quiz(transactional_world):
    return in_thread(quiz_build, transactional_world)


def test_only_the_courses_students_meet_its_exam_and_another_teacher_sees_none_of_it(
    browser, live_server_url, transactional_world, quiz
):
    world = transactional_world
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # Stu, in Physics 101, sees the quiz on his dashboard and takes it.
    log_in(page, live_server_url, world.stu.email, DEFAULT_PASSWORD)
    row = page.locator("li, tr, article", has_text="Optics quiz").last
    row.wait_for()
    page.goto(f"{live_server_url}/exams/{quiz.pk}/ready/")
    page.click("#start-form button")
    page.wait_for_url(re.compile(r".*/sessions/[0-9a-f-]+/take/$"))
    session = in_thread(lambda: ExamSession.objects.get(exam=quiz, student=world.stu))
    context.clear_cookies()

    # Hal (History 201) and Sid (no course): the quiz is not on the dashboard, and is 404.
    for outsider in (world.hal, world.sid):
        log_in(page, live_server_url, outsider.email, DEFAULT_PASSWORD)
        assert "Optics quiz" not in page.content()
        for path in (f"/exams/{quiz.pk}/ready/", f"/exams/{quiz.pk}/consent/", f"/api/exams/{quiz.pk}"):
            assert page.goto(f"{live_server_url}{path}").status == 404, (outsider.email, path)
        context.clear_cookies()

    # Vic teaches History 201 only: in the admin he finds neither the quiz, nor Stu's session,
    # nor Physics 101 and its students.
    log_in(page, live_server_url, world.vic.email, DEFAULT_PASSWORD)
    exams = page.goto(f"{live_server_url}/admin/exams/exam/")
    assert exams.status == 200
    assert "History essay" in page.content() and "Optics quiz" not in page.content()
    page.goto(f"{live_server_url}/admin/exams/exam/{quiz.pk}/change/")
    assert "Optics quiz" not in page.content()  # the admin says it does not exist
    page.goto(f"{live_server_url}/admin/exam_sessions/examsession/")
    assert world.stu.email not in page.content()
    page.goto(f"{live_server_url}/admin/exams/course/")
    assert "History 201" in page.content() and "Physics 101" not in page.content()
    page.goto(f"{live_server_url}/admin/exams/exam/{world.history.pk}/change/")
    picker = page.locator('select[name="accommodations-__prefix__-student"]').inner_html()
    assert world.hal.email in picker and world.stu.email not in picker and world.sam.email not in picker
    assert session.student == world.stu
    assert errors == []
    context.close()
