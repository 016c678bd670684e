"""The exam page in French (issue 16, item 7), in real Chromium: what the page's scripts write
themselves (the connection and save pills, the question header and navigator, the submit dialog)
comes from the JavaScript catalog (/jsi18n/) in the student's language."""

from __future__ import annotations

import re

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD
from procto.tests.browser import BROWSER_TEST_MARKS, in_thread, log_in
from sessions.tests.test_sign_in_browser import quiz_started

pytestmark = BROWSER_TEST_MARKS


def french_quiz_started(world):
    """Stu, who reads Procto in French, has started a short unproctored quiz of two questions."""
    User.objects.filter(pk=world.stu.pk).update(language="fr")
    return quiz_started(world)


def test_a_french_speaking_students_exam_page_speaks_french(
    still_camera_chromium, live_server_url, transactional_world
):
    session = in_thread(french_quiz_started, transactional_world)
    context = still_camera_chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server_url, session.student.email, DEFAULT_PASSWORD)
    page.goto(f"{live_server_url}/sessions/{session.pk}/take/")
    assert page.locator("html").get_attribute("lang") == "fr"

    # The connection pill, once the socket is up (no camera here: "Connected", not "Live").
    connection = page.locator("#connection-state")
    connection.filter(has_text="Connecté").wait_for(timeout=20_000)
    first = page.locator("#questions fieldset").first
    assert first.locator(".q-number").inner_text() == "Question 1 sur 2 · 1 point"
    assert first.locator(".flag-toggle").inner_text().strip() == "⚑ Signaler pour relecture"

    first.locator("textarea").fill("La diffusion Rayleigh.")
    save = page.locator("#save-state")
    save.filter(has_text="Enregistrées").wait_for(timeout=20_000)
    assert page.locator("#question-count").inner_text() == "2 questions · 1 avec réponse"
    first.locator(".flag-toggle").click()
    assert first.locator(".flag-toggle").inner_text().strip() == "⚑ Signalée pour relecture"

    # Offline: both pills say so in French, and the answer typed meanwhile waits on this device.
    context.set_offline(True)
    connection.filter(has_text="Hors ligne").wait_for(timeout=20_000)
    first.locator("textarea").fill("La diffusion Rayleigh favorise le bleu.")
    save.filter(has_text="Hors ligne \u2013 1 réponse en attente").wait_for(timeout=20_000)
    context.set_offline(False)
    save.filter(has_text=re.compile("^Enregistrées$")).wait_for(timeout=30_000)

    # The submit dialog's summary is the script's too.
    page.locator("#submit-open").click()
    dialog = page.locator("#submit-dialog")
    dialog.wait_for(state="visible")
    summary = page.locator("#submit-summary").inner_text()
    assert "Vous avez répondu à 1 des 2 questions." in summary, summary
    assert "1 sans réponse : question 2" in summary, summary
    assert "1 signalée pour relecture : question 1" in summary, summary
    assert page.locator("#submit-confirm").inner_text() == "Remettre maintenant"
    assert not errors, errors
