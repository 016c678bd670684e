"""A student reads their teacher's feedback on each question, in real Chromium: nothing per question
before the results are released; the teacher releases them from the exam report; then the
student's result page shows each score and the feedback, and reads at 4.5:1 or more."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD
from exams.models import Question
from exams.services import exam_create
from exams.tests.factories import enrol
from procto.tests.browser import BROWSER_TEST_MARKS, in_thread, live_stack, log_in, screenshot
from procto.tests.contrast import low_contrast_text
from sessions import services

pytestmark = BROWSER_TEST_MARKS

FEEDBACK = "Rayleigh scattering is the key: say why short wavelengths scatter more."


def _graded_attempt(world):
    """Tess's optics quiz, results not released; Stu sat it and Tess graded his paragraph."""
    now = timezone.now()
    exam = exam_create(
        author=world.tess,
        title="Optics quiz",
        duration_minutes=20,
        start_time=now - timedelta(hours=1),
        end_time=now + timedelta(days=1),
        is_published=True,
        proctoring_enabled=False,
        show_results=False,
        questions=[
            {"type": "MCQ", "text": "Closest planet to the Sun?", "options": ["Venus", "Mercury"],
             "correct_answer": "Mercury", "points": 2, "explanation": "About 0.39 AU."},
            {"type": "Paragraph", "text": "Why is the sky blue?", "points": 3},
        ],
    )  # fmt: skip
    enrol(exam, world.stu)
    session, _ = services.exam_session_start(exam=exam, student=world.stu)
    by_type = {q.type: str(q.pk) for q in exam.questions.all()}
    answers = [
        {"question_id": by_type["MCQ"], "student_answer": "Venus"},
        {"question_id": by_type["Paragraph"], "student_answer": "The air scatters blue light."},
    ]
    services.exam_session_submit(session_id=session.pk, student=world.stu, answers=answers)
    paragraph = session.answers.get(question__type=Question.Type.PARAGRAPH)
    services.answer_grade(answer=paragraph, grader=world.tess, score=Decimal("2.5"), feedback=FEEDBACK)
    return exam, session


def test_a_student_reads_the_feedback_on_each_question_once_the_teacher_releases_the_results(
    browser, tmp_path, transactional_world, settings
):
    world = transactional_world
    exam, session = in_thread(_graded_attempt, world)
    with live_stack(tmp_path, settings) as url:
        student = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        log_in(student, url, world.stu.email, DEFAULT_PASSWORD)
        result_link = student.locator(f'a[href="/sessions/{session.pk}/result/"]')
        assert result_link.inner_text() == "Not released yet"
        result_link.click()
        assert "has not released the results yet" in student.locator("#result-status").inner_text()
        assert student.locator("[data-score], [data-feedback], #result-total").count() == 0
        assert FEEDBACK not in student.content()

        teacher = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        log_in(teacher, url, world.tess.email, DEFAULT_PASSWORD)
        teacher.goto(f"{url}/exams/{exam.pk}/report/")
        teacher.get_by_role("button", name="Release results now").click()
        assert "Results released" in teacher.locator(".messages").inner_text()
        assert teacher.locator("#results-release-state").inner_text().startswith("Released")
        assert low_contrast_text(teacher) == []

        student.reload()
        assert student.locator("#result-total").inner_text() == "2.5 of 5 points"
        scores = student.locator("[data-score]").all_inner_texts()
        assert scores == ["0 / 2 points", "2.5 / 3 points"]
        questions = student.locator(".result-question")
        assert "Venus (your answer)" in questions.nth(0).inner_text()
        assert "Mercury (correct)" in questions.nth(0).inner_text()
        feedback = questions.nth(1).locator("[data-feedback]")
        assert feedback.inner_text().split() == f"Feedback from your teacher {FEEDBACK}".split()
        assert low_contrast_text(student) == []
        screenshot(student, "result-student")
        student.goto(url)
        assert student.locator(f'a[href="/sessions/{session.pk}/result/"]').inner_text() == (
            "2.50 / 5.00: your answers and feedback"
        )
