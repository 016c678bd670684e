"""The identity check page in Chromium against daphne whose analysis pool is full: the page says
so, waits as the server tells it, and sends the photo again (static/js/identity-check.js)."""

from __future__ import annotations

import threading
from datetime import timedelta

import requests
from django.utils import timezone

from accounts.identity_service import identity_verify
from accounts.services import token_pair_issue
from accounts.tests import identity_images as ids
from accounts.tests.factories import DEFAULT_PASSWORD
from exams.services import exam_create
from procto.tests.browser import BROWSER_TEST_MARKS, in_thread, live_stack, log_in
from sessions import readiness
from sessions.models import IdentityCheck

pytestmark = BROWSER_TEST_MARKS


def verified_and_consented(world, student):
    """`student` verified with the astronaut's photo (the fake camera shows her too), and a
    high-security exam of Physics 101 they have consented to; returns (exam, API token)."""
    verification = identity_verify(user=student, photo=ids.astronaut_photo(), id_card=ids.astronaut_id_card())
    assert verification.outcome == verification.Outcome.MATCH
    now = timezone.now()
    exam = exam_create(
        author=world.tess,
        course=world.physics.course,
        title="High-security final",
        duration_minutes=30,
        start_time=now - timedelta(minutes=5),
        end_time=now + timedelta(hours=2),
        is_published=True,
        security_level="high",
        questions=[{"type": "Paragraph", "text": "Why is the sky blue?", "points": 1}],
    )
    readiness.consent_record(exam=exam, student=student)
    return exam, token_pair_issue(user=student).access_token


def keep_the_pool_busy(
    url: str, exam_id: int, token: str, photo: bytes, refused: threading.Event, stop
) -> None:
    """Phone-sized photos back to back, so that the pool's one slot stays taken; `refused` is set
    once one of them is turned away, proof that another holds the slot."""
    while not stop.is_set():
        response = requests.post(
            f"{url}/api/exams/{exam_id}/identity-check",
            headers={"Authorization": f"Bearer {token}"},
            files={"liveCapture": ("phone.jpg", photo, "image/jpeg")},
            timeout=120,
        )
        if response.status_code == 503:
            refused.set()


def test_the_page_retries_a_busy_identity_check_until_it_passes(
    still_camera_chromium, tmp_path, transactional_world, settings, monkeypatch
):
    student = transactional_world.stu
    exam, token = in_thread(verified_and_consented, transactional_world, student)
    # daphne decrypts the face this process stored; one check at a time and none waiting.
    monkeypatch.setenv("ENCRYPTION_KEY", settings.ENCRYPTION_KEY.hex())
    monkeypatch.setenv("JWT_SIGNING_KEY", settings.JWT_SIGNING_KEY.hex())
    monkeypatch.setenv("IDENTITY_WORKERS", "1")
    monkeypatch.setenv("IDENTITY_QUEUE", "0")
    with live_stack(tmp_path, settings) as url:
        context = still_camera_chromium.new_context(permissions=["camera"])
        page = context.new_page()
        answers = []
        page.on("response", lambda r: answers.append(r.status) if r.url.endswith("/identity-check") else None)
        log_in(page, url, student.email, DEFAULT_PASSWORD)
        page.goto(f"{url}/exams/{exam.pk}/identity/")
        page.click("#take-photo:not([disabled])")

        photo, refused, stop = ids.astronaut_phone_photo(), threading.Event(), threading.Event()
        load = [
            threading.Thread(target=keep_the_pool_busy, args=(url, exam.pk, token, photo, refused, stop))
            for _ in range(2)
        ]
        for thread in load:
            thread.start()
        try:
            # One photo was refused, so the other is being checked: a second or more of CPU.
            assert refused.wait(60)
            page.click("#use-photo")
            status = page.locator("#identity-status")
            status.get_by_text("Many students are checking at once").wait_for(timeout=20_000)
        finally:
            stop.set()
            for thread in load:
                thread.join()
        status.get_by_text("It's you: identity confirmed.").wait_for(timeout=30_000)
        assert page.locator("#continue").is_visible()
        assert answers[0] == 503 and answers[-1] == 200, answers
        assert (
            in_thread(lambda: IdentityCheck.objects.filter(user=student, exam=exam, passed=True).count()) >= 1
        )
        context.close()
