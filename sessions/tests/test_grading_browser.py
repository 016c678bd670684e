"""Grading in real headless Chromium: from the exam report to a question's queue, then a whole
grading pass with the keyboard alone (shortcut keys, the validation message at its field, the
image of an image question, code monospaced). The class is `sessions.tests.grading_world`."""

from __future__ import annotations

from decimal import Decimal

from accounts.tests.factories import DEFAULT_PASSWORD
from procto.tests.browser import BROWSER_TEST_MARKS, in_thread, log_in, page_wait, screenshot
from sessions.models import Answer, ExamSession
from sessions.tests.grading_world import grading_world_build

pytestmark = BROWSER_TEST_MARKS


def focused(page) -> str:
    return page.evaluate("() => document.activeElement.id")


def press(page, key: str) -> None:
    """A key that leaves the page (a save, a link): wait for the next one to load."""
    with page.expect_navigation():
        page.keyboard.press(key)


def score_focused(page) -> None:
    """Wait until a score box has the focus (its `autofocus`, which the browser applies a moment
    after the load event on a busy machine): keys typed before it go nowhere."""
    page_wait(page, "() => document.activeElement?.matches('input[type=number]')")


def heading(page) -> str:
    return page.locator("form.grading-form h2").inner_text()


def test_grading_a_question_for_everyone_with_the_queue_and_the_keyboard_alone(
    browser, live_server_url, transactional_db
):
    optics = in_thread(grading_world_build)
    answers = {
        (a.session.student.first_name, a.question.type): a
        for a in in_thread(lambda: list(Answer.objects.select_related("session__student", "question")))
    }
    url = live_server_url
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, url, optics.tess.email, DEFAULT_PASSWORD)

    # From the exam report to the overview, and Q2 for everyone.
    page.goto(f"{url}/exams/{optics.exam.pk}/report/")
    page.get_by_role("link", name="Grading: 7 answers to grade").click()
    screenshot(page, "grading-overview")
    page.get_by_role("link", name="Grade Q2 for everyone").click()
    assert heading(page).startswith("Answer 1 of 3: Ann Abbot")

    # From here on, only keys. The score box has the focus, and is big enough to hit.
    ann = answers["Ann", "Paragraph"]
    score_focused(page)
    assert focused(page) == f"id_score-{ann.pk}"
    box = page.locator(f"#id_score-{ann.pk}").bounding_box()
    assert box["width"] >= 100 and box["height"] >= 44, box  # was 64 x 21 px
    page.keyboard.type("99")
    press(page, "s")
    error = page.locator(f"#id_score-{ann.pk}-error")
    assert (
        error.inner_text()
        == "Score for Ann Abbot: 99 is more than this question's 3 points: give a score from 0 to 3."
    )
    assert page.locator(f"#id_score-{ann.pk}").input_value() == "99"  # kept, marked and focused
    assert page.locator(f"#id_score-{ann.pk}").get_attribute("aria-invalid") == "true"
    assert focused(page) == f"id_score-{ann.pk}"
    screenshot(page, "grading-validation")
    page.keyboard.press("Control+a")
    page.keyboard.type("3")
    page.keyboard.press("Tab")
    page.keyboard.type("Spot on: Rayleigh scattering.")
    press(page, "Control+Enter")  # saves from the feedback box
    assert heading(page).startswith("Answer 2 of 3: Ben Brown")

    press(page, "n")  # Ben later: the next ungraded is Stu
    assert heading(page).startswith("Answer 3 of 3: Stu Stone")
    score_focused(page)
    page.keyboard.type("2.5")
    press(page, "Enter")
    assert heading(page).startswith("Answer 2 of 3: Ben Brown")  # round to the one skipped
    press(page, "k")
    assert heading(page).startswith("Answer 1 of 3: Ann Abbot") and "graded: 3" in heading(page)
    press(page, "j")
    score_focused(page)
    page.keyboard.type("1")
    press(page, "s")
    assert page.get_by_text("All 3 answers to Q2 are graded.").is_visible()
    assert page.locator("#queue-progress-text").inner_text() == "3 of 3 answers graded"

    # On to the next question with work: the image question, shown with its image.
    press(page, "n")
    assert page.locator("h1").inner_text().startswith("Q3 for everyone")
    image = page.locator("img.grading-image")
    assert image.evaluate("img => img.complete && img.naturalWidth") == 240
    screenshot(page, "grading-queue")

    # A code answer is monospaced, its indentation kept.
    page.goto(f"{url}/sessions/exams/{optics.exam.pk}/grading/questions/{optics.questions['Code'].pk}/")
    code = page.locator("pre.answer.code")
    assert "monospace" in code.evaluate("e => getComputedStyle(e).fontFamily")
    assert code.inner_text().endswith("def is_even(n):\n    return n % 2 == 0")

    # Stu's own page: his code is the one answer left; s saves it, n goes on to Ann.
    stu = optics.sessions["stu"]
    page.goto(f"{url}/sessions/{stu.pk}/grade/")
    score_focused(page)
    assert focused(page) == f"id_score-{answers['Stu', 'Paragraph'].pk}"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert focused(page) == f"id_score-{answers['Stu', 'Code'].pk}"
    page.keyboard.type("3")
    press(page, "s")
    assert page.get_by_text("Saved 1 grade.").is_visible()
    press(page, "n")
    assert page.locator("h1").inner_text().startswith("Grade Ann Abbot")

    def saved():
        return {
            key: (a.score, a.feedback)
            for key, a in ((k, Answer.objects.get(pk=a.pk)) for k, a in answers.items())
            if key[1] == "Paragraph"
        } | {"stu": ExamSession.objects.values_list("grading", "final_score").get(pk=stu.pk)}

    assert in_thread(saved) == {
        ("Ann", "Paragraph"): (Decimal(3), "Spot on: Rayleigh scattering."),
        ("Ben", "Paragraph"): (Decimal(1), ""),
        ("Stu", "Paragraph"): (Decimal("2.5"), ""),
        "stu": (ExamSession.Grading.COMPLETE, Decimal("7.5")),  # 2 (Mercury) + 2.5 + 3
    }
    assert not errors
