"""Keyboard alone, in real Chromium (issue 16, item 8): a student sits an exam from sign-in to
submit, a teacher grades with the queue, a proctor reviews alerts on the live monitor and on a
session's review page, pressing
only keys (Tab, Shift+Tab, Enter, Space, arrows, letters): no click, and no focus moved by the
test. At every stop the focused element shows it has the focus (an outline or a shadow on it or
on its ::before/::after), and is on screen."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.identity_service import identity_verify
from accounts.tests import identity_images as ids
from accounts.tests.factories import DEFAULT_PASSWORD
from exams.demo import _demo_questions
from exams.services import exam_create
from procto.tests.browser import BROWSER_TEST_MARKS, in_thread, live_stack, wait_until
from proctoring.models import ProctorAction, ProctoringEvent
from sessions.models import Answer, ExamSession
from sessions.tests.grading_world import grading_world_build

pytestmark = BROWSER_TEST_MARKS

# What the focused element is, and whether a sighted keyboard user can see that it is: on screen,
# and drawn with an outline or a box shadow (on itself or on a pseudo-element, as the monitor's
# card link draws its ring on ::after) while it matches :focus-visible.
FOCUS_SEEN = """() => {
  const el = document.activeElement;
  const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
    + (e.className && typeof e.className === "string" ? "." + e.className.trim().split(/\\s+/).join(".") : "")
    + (e.textContent ? " '" + e.textContent.trim().replace(/\\s+/g, " ").slice(0, 40) + "'" : "");
  if (!el || el === document.body || el === document.documentElement) {
    return {seen: false, what: "nothing: the focus is on the page's body"};
  }
  const drawn = (style) => (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
    || (style.boxShadow && style.boxShadow !== "none");
  const ring = [undefined, "::before", "::after"].some((pseudo) => drawn(getComputedStyle(el, pseudo)));
  const box = el.getBoundingClientRect();
  const onScreen = box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0
    && box.left < innerWidth && box.top < innerHeight;
  return {seen: ring && onScreen && el.matches(":focus-visible"), ring, onScreen,
          visible: el.matches(":focus-visible"), what: name(el)};
}"""


def focus_seen(page, step: str) -> str:
    """Fail unless the focused element is visibly focused; returns what it is."""
    found = page.evaluate(FOCUS_SEEN)
    assert found["seen"], f"{page.url}, {step}: focus not visible on {found}"
    return found["what"]


def key(page, name: str, step: str = "") -> str:
    """Press one key (or chord), then check the focus is visible where it lands."""
    page.keyboard.press(name)
    return focus_seen(page, step or f"after {name}")


def key_to_page(page, name: str, url_pattern: str) -> None:
    """A key that follows a link or sends a form: wait for the next page."""
    with page.expect_navigation(url=re.compile(url_pattern), timeout=60_000):
        page.keyboard.press(name)


def focus_seen_until_focused(page, locator, step: str, *, timeout: float = 60) -> None:
    """While the page works (a photo compared, a video uploaded) and until it moves the focus to
    `locator`, the focus stays in sight: checked every tenth of a second."""
    deadline = time.monotonic() + timeout
    while not is_focused(locator):
        focus_seen(page, step)
        assert time.monotonic() < deadline, f"{step}: {locator} never got the focus"
        time.sleep(0.1)
    focus_seen(page, step)


def is_focused(locator) -> bool:
    return locator.evaluate_all("all => all.some((e) => e === document.activeElement)")


def tab_to(page, locator, *, back: bool = False, limit: int = 80) -> None:
    """Tab (or Shift+Tab) until `locator` has the focus, checking the focus at every stop."""
    locator.wait_for()
    for _ in range(limit):
        if is_focused(locator):
            return
        key(page, "Shift+Tab" if back else "Tab", f"tabbing to {locator}")
    raise AssertionError(f"{limit} presses of {'Shift+Tab' if back else 'Tab'} never reached {locator}")


def keyboard_log_in(page, url: str, email: str) -> None:
    page.goto(f"{url}/accounts/login/")
    tab_to(page, page.locator("input[name=username]"))
    page.keyboard.type(email)
    key(page, "Tab")
    page.keyboard.type(DEFAULT_PASSWORD)
    key_to_page(page, "Enter", f"{re.escape(url)}/$")


# --- the student ----------------------------------------------------------------------------------


def verified_student_and_exam(world):
    """Stu, verified with the astronaut's photo (the fake camera shows her), and a high-security
    exam of his course with the demo's questions, one of each type the exam page has."""
    verification = identity_verify(
        user=world.stu, photo=ids.astronaut_photo(), id_card=ids.astronaut_id_card()
    )
    assert verification.outcome == verification.Outcome.MATCH
    now = timezone.now()
    return exam_create(
        author=world.tess,
        course=world.physics.course,
        title="Keyboard final",
        duration_minutes=30,
        start_time=now - timedelta(minutes=5),
        end_time=now + timedelta(hours=2),
        is_published=True,
        security_level="high",
        questions=_demo_questions(),
    )


def panel(page, question_type: str):
    return page.locator(f'fieldset.question[data-type="{question_type}"]')


def next_question(page, question_type: str) -> None:
    """Tab on to "Next →", press Enter: the next question shows, and has the focus."""
    tab_to(page, page.locator("#next-question"))
    key(page, "Enter", "showing the next question")
    assert is_focused(panel(page, question_type))


@pytest.mark.timeout(300)
def test_a_student_sits_a_high_security_exam_with_the_keyboard_alone(
    browser, tmp_path, transactional_world, settings, monkeypatch
):
    world = transactional_world
    exam = in_thread(verified_student_and_exam, world)
    # daphne compares the webcam photo with the face this process stored: the same key.
    monkeypatch.setenv("ENCRYPTION_KEY", settings.ENCRYPTION_KEY.hex())
    with live_stack(tmp_path, settings) as url:
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, permissions=["camera", "microphone"]
        )
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        keyboard_log_in(page, url, world.stu.email)

        # The dashboard: Begin, then every step before the clock.
        tab_to(page, page.locator(".exam-row", has_text=exam.title).get_by_role("link", name="Begin"))
        key_to_page(page, "Enter", r"/consent/$")
        tab_to(page, page.get_by_role("button", name="I agree, continue"))
        key_to_page(page, "Enter", r"/check/$")
        continue_link = page.locator("#continue")
        continue_link.wait_for(timeout=60_000)
        tab_to(page, continue_link)
        key_to_page(page, "Enter", r"/identity/$")

        tab_to(page, page.locator("#take-photo:not([disabled])"))
        key(page, "Enter", "taking the photo")
        # The page moves the focus on with the student, once the photo is taken.
        wait_until(lambda: is_focused(page.locator("#use-photo")), timeout=10, what="Use this photo focused")
        focus_seen(page, "the photo taken")
        key(page, "Enter", "sending the photo")
        focus_seen_until_focused(page, continue_link, "comparing the photo")
        key_to_page(page, "Enter", r"/room-scan/$")

        tab_to(page, page.locator("#scan-record:not([disabled])"))
        key(page, "Enter", "starting the recording")
        # The shortest room scan there is (10 s): real time is the point here. Stop counts down,
        # with the focus on it all along.
        stop = page.locator("#scan-stop:not([aria-disabled]):not([disabled])")
        focus_seen_until_focused(page, stop, "recording")
        key(page, "Enter", "stopping the recording")
        focus_seen_until_focused(page, continue_link, "uploading the room scan")
        key_to_page(page, "Enter", r"/ready/$")
        tab_to(page, page.get_by_role("button", name="Start the exam now"))
        key_to_page(page, "Enter", r"/take/$")
        session = in_thread(lambda: ExamSession.objects.get(exam=exam, student=world.stu))

        # Full screen: the gate's button has the focus.
        enter = page.locator("#fullscreen-enter")
        enter.wait_for()
        assert is_focused(enter)
        page.keyboard.press("Enter")
        # The gate closes by itself, and its close event (a task later) puts the student on the
        # first question: checked once that has run, not in the milliseconds between.
        wait_until(lambda: is_focused(panel(page, "MCQ")), timeout=10, what="the first question focused")
        focus_seen(page, "entering full screen")

        # One question of each type, moving on with Next, back with the navigator.
        tab_to(page, panel(page, "MCQ").get_by_label("Venus"))
        key(page, "ArrowDown", "choosing with the arrows")  # Venus → Mercury, chosen
        assert panel(page, "MCQ").get_by_label("Mercury").is_checked()

        next_question(page, "MCQ-multiple")
        for option in ("2", "4", "7", "9", "11"):
            key(page, "Tab")
            assert is_focused(panel(page, "MCQ-multiple").get_by_label(option, exact=True))
            if option in ("2", "7", "11"):
                key(page, "Space", f"ticking {option}")

        next_question(page, "Paragraph")
        key(page, "Tab")
        page.keyboard.type("Rayleigh scattering favours blue light.")
        next_question(page, "Image")
        key(page, "Tab")
        page.keyboard.type("Three sides: a triangle.")
        next_question(page, "Code")
        key(page, "Tab")
        page.keyboard.type("def is_even(n):\n")
        key(page, "Tab", "indenting in the code editor")  # four spaces, not a way out
        page.keyboard.type("return n % 2 == 0")
        assert is_focused(panel(page, "Code").locator("textarea"))
        # Out of the editor backwards, to the navigator: question 6 of 7.
        tab_to(page, page.locator("#navigator button").nth(5), back=True)
        key(page, "Enter", "opening question 6 from the navigator")
        assert is_focused(panel(page, "Numeric"))
        key(page, "Tab")
        page.keyboard.type("299792,5")
        next_question(page, "Matching")
        matching = panel(page, "Matching")
        tab_to(page, matching.get_by_label("Earth"))
        page.keyboard.type("Moon")  # a closed list takes the first letters typed
        focus_seen(page, "choosing a match")
        tab_to(page, matching.get_by_label("Saturn"))
        page.keyboard.type("Titan")
        focus_seen(page, "choosing a match")
        tab_to(page, page.locator("#prev-question"))
        key(page, "Enter", "going back a question")
        assert is_focused(panel(page, "Numeric"))

        def saved():
            answers = Answer.objects.filter(session=session).select_related("question")
            return {a.question.type: a.response for a in answers}

        expected = {
            "MCQ": "Mercury",
            "MCQ-multiple": ["2", "7", "11"],
            "Paragraph": "Rayleigh scattering favours blue light.",
            "Image": "Three sides: a triangle.",
            "Code": "def is_even(n):\n    return n % 2 == 0",
            "Numeric": "299792,5",
            "Matching": ["Moon", None, "Titan"],
        }
        wait_until(lambda: in_thread(saved) == expected, timeout=30, what="the 7 answers saved")

        # Submit, confirmed in the dialog ("Keep working" has the focus first).
        tab_to(page, page.locator("#submit-open"), back=True)
        key(page, "Enter", "opening the submit dialog")
        assert is_focused(page.locator("#submit-cancel"))
        key(page, "Tab")
        assert is_focused(page.locator("#submit-confirm"))
        key(page, "Enter", "submitting")
        page.locator("#finished").wait_for(timeout=30_000)
        focus_seen(page, "the exam finished")

        session = in_thread(lambda: ExamSession.objects.get(pk=session.pk))
        assert session.status == "submitted"
        assert in_thread(saved) == expected
        assert not errors, errors
        context.close()


# --- the teacher ----------------------------------------------------------------------------------


def test_a_teacher_grades_an_answer_in_the_queue_with_the_keyboard_alone(
    browser, tmp_path, transactional_db, settings
):
    optics = in_thread(grading_world_build)
    paragraphs = in_thread(
        lambda: {a.session.student.first_name: a for a in Answer.objects.filter(question__type="Paragraph")}
    )
    ann, ben = paragraphs["Ann"], paragraphs["Ben"]
    with live_stack(tmp_path, settings) as url:
        page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        keyboard_log_in(page, url, optics.tess.email)

        # The exam report leads to the grading overview, the overview to Q2 for everyone.
        page.goto(f"{url}/exams/{optics.exam.pk}/report/")
        tab_to(page, page.get_by_role("link", name="Grading: 7 answers to grade"))
        key_to_page(page, "Enter", r"/grading/$")
        tab_to(page, page.get_by_role("link", name="Grade Q2 for everyone"))
        key_to_page(page, "Enter", r"/grading/questions/")

        # Ann's answer first; its score box has the focus.
        score = page.locator(f"#id_score-{ann.pk}")
        assert is_focused(score)
        focus_seen(page, "the queue's first answer")
        page.keyboard.type("2.5")
        key(page, "Tab", "to the feedback")
        page.keyboard.type("Name the scattering, and why blue.")
        # Esc leaves the feedback box, so that letters are shortcuts again: for the score box.
        key(page, "Escape", "leaving the feedback box")
        assert is_focused(score)
        key(page, "?", "showing the list of shortcuts")
        assert is_focused(page.locator("#shortcuts"))
        tab_to(page, score, back=True)
        key_to_page(page, "s", r"/grading/questions/")  # saved, on to the next ungraded: Ben
        assert page.locator("form.grading-form h2").inner_text().startswith("Answer 2 of 3: Ben Brown")
        assert is_focused(page.locator(f"#id_score-{ben.pk}"))
        focus_seen(page, "the next ungraded answer")
        key_to_page(page, "n", r"/grading/questions/")  # Ben later: Stu is next
        assert page.locator("form.grading-form h2").inner_text().startswith("Answer 3 of 3: Stu Stone")
        focus_seen(page, "the next ungraded answer")

        def graded():
            return {
                name: (a.score, a.feedback)
                for name, a in ((n, Answer.objects.get(pk=a.pk)) for n, a in paragraphs.items())
            }

        assert in_thread(graded) == {
            "Ann": (Decimal("2.5"), "Name the scattering, and why blue."),
            "Ben": (None, ""),
            "Stu": (None, ""),
        }
        assert not errors, errors


# --- the proctor ----------------------------------------------------------------------------------


def two_open_alerts(world) -> dict[str, ProctoringEvent]:
    """In Stu's physics session, which Pat proctors: two faces on camera, then a voice."""
    session = world.stu_in_physics
    at = session.started_at + timedelta(minutes=1)
    return {
        kind: ProctoringEvent.objects.create(
            session=session,
            type=kind,
            severity="high",
            source="server",
            details={},
            occurred_at=at + timedelta(seconds=i),
        )
        for i, kind in enumerate(("multiple-faces", "speech-detected"))
    }


def test_a_proctor_reviews_alerts_on_the_live_monitor_with_the_keyboard_alone(
    browser, tmp_path, transactional_world, settings
):
    world = transactional_world
    alerts = in_thread(two_open_alerts, world)
    faces, voice = alerts["multiple-faces"], alerts["speech-detected"]
    with live_stack(tmp_path, settings) as url:
        page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        keyboard_log_in(page, url, world.pat.email)
        page.goto(f"{url}/proctoring/monitor/")
        page.wait_for_selector("#socket-state[data-state=open]", timeout=60_000)

        # Dismiss the voice with a preset reason: the dialog takes the focus and keeps it.
        entry = page.locator(f'.feed-entry[data-event-id="{voice.pk}"]')
        dismiss = entry.locator("button[data-action=dismiss]")
        tab_to(page, dismiss)
        key(page, "Enter", "opening the dismiss dialog")
        dialog = page.locator("#action-dialog")
        assert is_focused(dialog.locator("#action-text"))
        # Esc closes it and gives the focus back to the button that opened it.
        key(page, "Escape", "closing the dialog")
        assert is_focused(dismiss)
        key(page, "Enter", "opening the dismiss dialog again")
        preset = dialog.get_by_role("button", name="Noise from outside the room, not another person.")
        tab_to(page, preset, back=True, limit=6)
        key(page, "Enter", "choosing the preset")
        assert is_focused(dialog.locator("#action-text"))
        assert (
            dialog.locator("#action-text").input_value() == "Noise from outside the room, not another person."
        )
        tab_to(page, dialog.get_by_role("button", name="Dismiss alert"), limit=4)
        key(page, "Enter", "dismissing the alert")
        entry.locator(".feed-status", has_text="Dismissed").wait_for()
        dialog.wait_for(state="hidden")
        # The button pressed is gone with the open alert: the focus stays on the entry.
        stays = "e => e.contains(document.activeElement)"
        wait_until(lambda: entry.evaluate(stays), timeout=5, what="the focus back on the entry")
        focus_seen(page, "after dismissing")

        # Confirm the two faces.
        entry = page.locator(f'.feed-entry[data-event-id="{faces.pk}"]')
        tab_to(page, entry.locator("button[data-action=confirm]"))
        key(page, "Enter", "confirming the alert")
        entry.locator(".feed-status", has_text="Confirmed").wait_for()
        focus_seen(page, "after confirming")
        assert entry.evaluate(stays)

        def reviewed():
            return {
                e.type: (e.review_status, e.review_reason, e.reviewed_by_id)
                for e in ProctoringEvent.objects.filter(pk__in=[faces.pk, voice.pk])
            }

        assert in_thread(reviewed) == {
            "speech-detected": (
                "dismissed",
                "Noise from outside the room, not another person.",
                world.pat.pk,
            ),
            "multiple-faces": ("confirmed", "", world.pat.pk),
        }
        assert not errors, errors


def test_a_proctor_reviews_alerts_on_the_session_review_page_with_the_keyboard_alone(
    browser, tmp_path, transactional_world, settings
):
    world = transactional_world
    alerts = in_thread(two_open_alerts, world)
    faces, voice = alerts["multiple-faces"], alerts["speech-detected"]
    with live_stack(tmp_path, settings) as url:
        page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        keyboard_log_in(page, url, world.pat.email)
        page.goto(f"{url}/proctoring/sessions/{world.stu_in_physics.pk}/")

        # Dismiss the voice with a preset reason, in the page's dialog.
        row = page.locator(f'tr[data-event-id="{voice.pk}"]')
        tab_to(page, row.locator("button[data-review=dismissed]"), limit=150)
        key(page, "Enter", "opening the dismiss dialog")
        dialog = page.locator("#dismiss-dialog")
        preset = dialog.get_by_role("button", name="Noise from outside the room, not another person.")
        tab_to(page, preset, limit=6)
        key(page, "Enter", "choosing the preset")
        assert is_focused(dialog.locator("textarea"))
        tab_to(page, dialog.get_by_role("button", name="Dismiss alert"), limit=4)
        key(page, "Enter", "dismissing the alert")
        row.locator(".review-state[data-state=dismissed]").wait_for()
        # Dismiss... is gone with the open alert: the focus stays on the row (its Confirm).
        stays = "e => e.contains(document.activeElement)"
        wait_until(lambda: row.evaluate(stays), timeout=5, what="the focus back on the row")
        focus_seen(page, "after dismissing")

        # Confirm the two faces.
        row = page.locator(f'tr[data-event-id="{faces.pk}"]')
        tab_to(page, row.locator("button[data-review=confirmed]"), back=True, limit=20)
        key(page, "Enter", "confirming the alert")
        row.locator(".review-state[data-state=confirmed]").wait_for()
        wait_until(lambda: row.evaluate(stays), timeout=5, what="the focus back on the row")
        focus_seen(page, "after confirming")

        # Send the student a message: the focus stays on Send message while and after it goes.
        tab_to(page, page.locator("#warn-message"), limit=150)
        page.keyboard.type("Please keep your eyes on your own screen.")
        send = page.locator('form[data-action="warn"] button[type=submit]')
        tab_to(page, send, limit=3)
        key(page, "Enter", "sending the message")
        page.get_by_text("Message sent: it is on the student's screen now.").wait_for()
        assert is_focused(send), "the focus left Send message once the message went"
        focus_seen(page, "after sending the message")
        sent = in_thread(
            lambda: list(
                ProctorAction.objects.filter(session=world.stu_in_physics, kind="warn").values_list(
                    "details__message", flat=True
                )
            )
        )
        assert sent == ["Please keep your eyes on your own screen."]

        def reviewed():
            return {
                e.type: (e.review_status, e.review_reason, e.reviewed_by_id)
                for e in ProctoringEvent.objects.filter(pk__in=[faces.pk, voice.pk])
            }

        assert in_thread(reviewed) == {
            "speech-detected": (
                "dismissed",
                "Noise from outside the room, not another person.",
                world.pat.pk,
            ),
            "multiple-faces": ("confirmed", "", world.pat.pk),
        }
        assert not errors, errors
