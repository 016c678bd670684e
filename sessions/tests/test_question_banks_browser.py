"""A bank draw in real Chromium: Stu and Sam sit the same exam and each gets their own questions
from the course's bank, and a reload shows each of them the same ones again.

The server draws with SystemRandom (daphne runs in its own process, out of a test's reach): with
5 drawn out of 30, two students get the very same five with a chance of 1 in 142,506."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD
from exams.models import Question, QuestionBank
from exams.services import exam_create
from procto.tests.browser import BROWSER_TEST_MARKS, in_thread, log_in
from sessions.models import ExamSession

pytestmark = BROWSER_TEST_MARKS

BANK_SIZE, DRAWN = 30, 5


def quiz_with_a_draw(world):
    now = timezone.now()
    exam = exam_create(
        author=world.tess,
        course=world.physics.course,  # Physics 101: Stu and Sam
        title="Kinematics quiz",
        duration_minutes=20,
        start_time=now - timedelta(minutes=5),
        end_time=now + timedelta(hours=2),
        is_published=True,
        proctoring_enabled=False,  # this test is about the questions, not the proctoring
        questions=[{"type": "Paragraph", "text": "Define velocity.", "points": 1}],
    )
    bank = QuestionBank.objects.create(course=world.physics.course, title="Kinematics")
    for n in range(1, BANK_SIZE + 1):
        Question.objects.create(
            bank=bank, type="Paragraph", text=f"Bank question {n:02d}", topic="vectors", points=2, order=n
        )
    draw = Question(exam=exam, type="Draw", draw_from=bank, draw_count=DRAWN, topic="vectors", order=2)
    draw.full_clean()
    draw.save()
    return exam


def questions_shown(page) -> list[str]:
    texts = page.locator(".q-text")
    texts.nth(DRAWN).wait_for(state="attached")  # the exam's own question and the five drawn
    return texts.all_text_contents()


def test_two_students_get_their_own_draw_and_the_same_one_after_a_reload(
    browser, live_server_url, transactional_world
):
    world = transactional_world
    quiz = in_thread(quiz_with_a_draw, world)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    seen = {}
    for student in (world.stu, world.sam):
        log_in(page, live_server_url, student.email, DEFAULT_PASSWORD)
        page.goto(f"{live_server_url}/exams/{quiz.pk}/ready/")
        page.click("#start-form button")
        page.wait_for_url(re.compile(r".*/sessions/[0-9a-f-]+/take/$"))
        first = questions_shown(page)
        page.reload()
        assert questions_shown(page) == first  # the same questions, in the same order
        assert first[0] == "Define velocity."
        drawn = first[1:]
        assert len(drawn) == len(set(drawn)) == DRAWN
        assert all(re.fullmatch(r"Bank question \d\d", text) for text in drawn)
        # What the page shows is what the attempt stored at start.
        session = in_thread(ExamSession.objects.get, exam=quiz, student=student)
        stored = in_thread(
            lambda s=session: [
                Question.objects.get(pk=pk).text for pk in next(iter(s.drawn_questions.values()))
            ]
        )
        assert stored == drawn
        seen[student.email] = set(drawn)
        context.clear_cookies()

    assert seen[world.stu.email] != seen[world.sam.email]
    assert errors == []
    context.close()
