"""Admitting students in real headless Chromium: the student waits on the start page, a proctor
decides, and the page follows without a reload."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD
from exams.services import exam_create
from procto.encrypted_files import store_encrypted
from procto.tests.browser import BROWSER_TEST_MARKS, in_thread, log_in
from proctoring.tests import faces
from sessions import admissions
from sessions.models import Admission, ExamSession, IdentityCheck

pytestmark = BROWSER_TEST_MARKS


def admitted_midterm_build(world):
    now = timezone.now()
    exam = exam_create(
        author=world.tess,
        course=world.physics.course,  # Physics 101: Stu and Sam are in it
        title="Admitted midterm",
        duration_minutes=30,
        start_time=now - timedelta(minutes=5),
        end_time=now + timedelta(hours=2),
        is_published=True,
        # No camera steps: this test is about the admission, which works the same on any level.
        proctoring_enabled=False,
        admission_required=True,
        questions=[{"type": "Paragraph", "text": "Why is the sky blue?", "points": 1}],
    )
    exam.proctors.add(world.pat)
    return exam


@pytest.fixture
def midterm(transactional_world):
    """Tess's "Admitted midterm", which Pat proctors and admits students to; Stu is the student
    who asks (the rest of the `world` is there too)."""
    # Built off Playwright's thread, like the world: Django refuses ORM calls beside its loop.
    return in_thread(admitted_midterm_build, transactional_world)


def student_page(browser, live_server_url, world, midterm):
    page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server_url, world.stu.email, DEFAULT_PASSWORD)
    page.goto(f"{live_server_url}/exams/{midterm.pk}/ready/")
    return page, errors


def test_the_start_button_appears_once_a_proctor_admits(
    browser, live_server_url, transactional_world, midterm
):
    world = transactional_world
    page, errors = student_page(browser, live_server_url, world, midterm)
    start = page.locator("#start-form button")
    assert not start.is_visible()
    page.click("text=Request admission")
    page.wait_for_selector("text=Waiting for a proctor to admit you")
    assert not start.is_visible()
    assert not ExamSession.objects.filter(exam=midterm).exists()  # the clock has not started

    admission = Admission.objects.get(student=world.stu)
    in_thread(admissions.admission_decide, actor=world.pat, admission_id=admission.pk, admit=True)
    # The page asks every 3 s: no reload needed.
    page.wait_for_selector("text=A proctor admitted you", timeout=10_000)
    start.click()
    page.wait_for_url(re.compile(r".*/sessions/[0-9a-f-]+/take/$"))
    assert ExamSession.objects.get(exam=midterm).student == world.stu
    assert errors == []


def test_a_denied_student_reads_why_and_can_ask_again(browser, live_server_url, transactional_world, midterm):
    world = transactional_world
    page, errors = student_page(browser, live_server_url, world, midterm)
    page.click("text=Request admission")
    page.wait_for_selector("text=Waiting for a proctor to admit you")
    admission = Admission.objects.get(student=world.stu)
    in_thread(
        admissions.admission_decide,
        actor=world.pat,
        admission_id=admission.pk,
        admit=False,
        reason="Please take off your sunglasses.",
    )
    page.wait_for_selector(
        "text=A proctor did not admit you: Please take off your sunglasses.", timeout=10_000
    )
    assert not page.locator("#start-form button").is_visible()
    page.click("text=Ask again")
    page.wait_for_selector("text=Waiting for a proctor to admit you")
    assert Admission.objects.filter(status="pending").count() == 1
    assert errors == []


@pytest.fixture
def shared_key(tmp_path, settings):
    """The server under test encrypts with the key in its own local folder: give it ours, so
    identity images this test stores are readable there."""
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "encryption.key").write_text(settings.ENCRYPTION_KEY.hex())


def test_a_proctor_admits_from_the_live_monitor(
    shared_key, browser, live_server_url, transactional_world, midterm
):
    world = transactional_world
    student, proctor, exam = world.stu, world.pat, midterm
    jpeg = faces.jpeg_bytes(faces.astronaut())

    def verified_with_a_webcam_check():
        student.photo = store_encrypted(jpeg, folder="identity/photos")
        student.save()
        IdentityCheck.objects.create(
            user=student,
            exam=exam,
            capture=store_encrypted(jpeg, folder="identity/exam-checks"),
            distance=0.62,
            threshold=0.55,
            passed=False,
        )

    in_thread(verified_with_a_webcam_check)
    monitor = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    monitor_errors = []
    monitor.on("pageerror", lambda exc: monitor_errors.append(str(exc)))
    log_in(monitor, live_server_url, proctor.email, DEFAULT_PASSWORD)
    monitor.goto(f"{live_server_url}/proctoring/monitor/?exam={exam.pk}")
    monitor.wait_for_selector("#socket-state[data-state=open]")
    assert not monitor.locator("#admissions").is_visible()  # nobody waits yet

    page, errors = student_page(browser, live_server_url, world, midterm)
    page.click("text=Request admission")
    page.wait_for_selector("text=Waiting for a proctor to admit you")

    # The request arrives live, with both faces and the identity check's verdict.
    card = monitor.locator(".admission-card", has_text="Stu Stone")
    card.wait_for(timeout=10_000)
    assert card.locator("text=Faces do not match (distance 0.62, match below 0.55)").is_visible()
    for image in card.locator("img").all():
        image.evaluate("img => img.decode()")  # both pictures load (signed and scoped URLs)
        assert image.evaluate("img => img.naturalWidth") > 0
    card.locator("button", has_text="Admit").click()
    card.locator(f"text={proctor.display_name} admitted Stu Stone.").wait_for()

    page.wait_for_selector("text=A proctor admitted you", timeout=10_000)
    page.locator("#start-form button").click()
    page.wait_for_url(re.compile(r".*/sessions/[0-9a-f-]+/take/$"))
    assert Admission.objects.get().decided_by == proctor
    assert errors == monitor_errors == []
