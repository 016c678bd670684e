"""Accessibility, measured: axe-core (static/vendor/axe-core) run in real Chromium on every page of
the student's, the teacher's and the proctor's journeys, with no serious or critical violation
(WCAG 2.1 A/AA and axe's best practices). The pages are listed in docs/ARCHITECTURE.md,
"Accessibility"; a page is checked as its reader meets it, once its script has drawn it."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD
from exams.demo import _demo_questions
from exams.services import exam_create
from procto.tests.browser import BROWSER_TEST_MARKS, axe_check, in_thread, live_stack, log_in
from procto.tests.test_api_client_browser import high_level_exam_consented_to
from sessions import readiness
from sessions.results import exam_results_release
from sessions.tests.factories import ExamSessionFactory
from sessions.tests.grading_world import grading_world_build

pytestmark = BROWSER_TEST_MARKS

# Rule ids tolerated on a page, by the name the test gives it: each one a documented known failure
# (docs/ARCHITECTURE.md, "Accessibility"), never a silent one. None today.
KNOWN_FAILURES: dict[str, tuple[str, ...]] = {}


def _journeys(world) -> dict:
    """Beside the `world`: a high-security exam Stu has consented to and not begun (the steps
    before the clock); the demo's questions, one of every type, which Stu is sitting (the exam
    page); Tess's optics quiz, sat by Ann, Ben and Stu and released (grading, results)."""
    steps = high_level_exam_consented_to(world, world.stu)
    now = timezone.now()
    demo = exam_create(
        author=world.tess,
        course=world.physics.course,
        title="Physics midterm",
        duration_minutes=30,
        start_time=now - timedelta(minutes=5),
        end_time=now + timedelta(hours=2),
        is_published=True,
        security_level="medium",
        questions=_demo_questions(),
    )
    readiness.consent_record(exam=demo, student=world.stu)
    sitting = ExamSessionFactory(exam=demo, student=world.stu, attempt=1)
    optics = grading_world_build(tess=world.tess, stu=world.stu)
    exam_results_release(exam=optics.exam, actor=world.tess)
    return {"steps": steps, "demo": demo, "sitting": sitting, "optics": optics}


def test_every_page_of_the_three_journeys_has_no_serious_or_critical_axe_violation(
    browser, tmp_path, transactional_world, settings
):
    world = transactional_world
    made = in_thread(_journeys, world)
    steps, sitting, optics = made["steps"], made["sitting"], made["optics"]
    # Every page is checked before the test fails, so that one run lists them all.
    found: dict[str, str] = {}

    def check(page, name: str) -> None:
        try:
            axe_check(page, known=KNOWN_FAILURES.get(name, ()))
        except AssertionError as failure:
            found[name] = str(failure)

    with live_stack(tmp_path, settings) as url:
        # The student: signing in, the dashboard, the steps before the clock, the exam, the result.
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, permissions=["camera", "microphone"]
        )
        page = context.new_page()
        page.goto(f"{url}/accounts/login/")
        check(page, "login")
        log_in(page, url, world.stu.email, DEFAULT_PASSWORD)
        check(page, "student dashboard")
        for step in ("consent", "check", "identity", "room-scan", "ready"):
            page.goto(f"{url}/exams/{steps.pk}/{step}/")
            check(page, f"exam {step}")
        page.goto(f"{url}/sessions/{sitting.pk}/take/")
        check(page, "exam page (before full screen)")
        page.click("#fullscreen-enter")
        page.locator('[data-type="MCQ"]').wait_for(state="attached")
        check(page, "exam page")
        page.goto(f"{url}/sessions/{optics.sessions['stu'].pk}/result/")
        check(page, "student result")
        context.close()

        # The teacher: authoring in the admin, the report, grading, a session's review.
        page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
        log_in(page, url, world.tess.email, DEFAULT_PASSWORD)
        check(page, "teacher home")
        exam = optics.exam
        for name, path in [
            ("admin exam list", "/admin/exams/exam/"),
            ("admin exam edit", f"/admin/exams/exam/{exam.pk}/change/"),
            ("question banks", "/admin/exams/questionbank/"),
            ("new question bank", "/admin/exams/questionbank/add/"),
            ("exam preview", f"/exams/{exam.pk}/preview/"),
            ("exam report", f"/exams/{exam.pk}/report/"),
            ("grading overview", f"/sessions/exams/{exam.pk}/grading/"),
            (
                "grading queue",
                f"/sessions/exams/{exam.pk}/grading/questions/{optics.questions['Paragraph'].pk}/",
            ),
            ("grading a student", f"/sessions/{optics.sessions['ben'].pk}/grade/"),
            ("session review (teacher)", f"/proctoring/sessions/{world.stu_in_physics.pk}/"),
        ]:
            page.goto(url + path)
            check(page, name)

        # The proctor: the live monitor and a session's review.
        page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
        log_in(page, url, world.pat.email, DEFAULT_PASSWORD)
        page.goto(f"{url}/proctoring/monitor/")
        page.locator(".session-card[data-session-id]").first.wait_for()
        check(page, "live monitor")
        page.goto(f"{url}/proctoring/sessions/{world.stu_in_physics.pk}/")
        check(page, "session review (proctor)")

    assert not found, "\n\n".join(f"{name}: {failure}" for name, failure in found.items())
