"""Local time, in real Chromium: a student in New York reads one deadline the same way on the
dashboard, the exam page and the review page, in her zone and labelled with it (issue 12, item 6).
Before, the dashboard said "closes 20:06" (UTC, unlabelled) and the review page "03:15 PM"."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD
from exams.models import Question
from procto.local_time import local_datetime
from procto.tests.browser import BROWSER_TEST_MARKS, in_thread, live_stack, log_in, wait_until

pytestmark = BROWSER_TEST_MARKS

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def test_a_student_in_new_york_reads_the_same_deadline_on_the_dashboard_exam_and_review_pages(
    still_camera_chromium, tmp_path, transactional_world, settings
):
    world = transactional_world

    def deadline_set():
        # Physics closes before Stu's hour is up, so his session's deadline is the exam's end.
        closes = (timezone.now() + timedelta(minutes=50)).replace(second=0, microsecond=0)
        world.physics.end_time = closes
        world.physics.save(update_fields=["end_time"])
        question = Question.objects.create(exam=world.physics, type="Paragraph", text="Why is the sky blue?")
        world.stu_in_physics.deadline = closes
        world.stu_in_physics.question_order = [question.pk]
        world.stu_in_physics.save(update_fields=["deadline", "question_order"])
        # Tess chose New York on her profile, though her browser says Tokyo today (travelling).
        User.objects.filter(pk=world.tess.pk).update(time_zone=NEW_YORK)
        return closes

    closes = in_thread(deadline_set)
    expected = local_datetime(closes, NEW_YORK)  # e.g. "Sun 6 Dec, 16:02 EST"
    assert expected.endswith((" EST", " EDT")), expected
    session = world.stu_in_physics
    with live_stack(tmp_path, settings) as url:
        student = still_camera_chromium.new_context(
            timezone_id="America/New_York", permissions=["camera", "microphone"]
        )
        page = student.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        log_in(page, url, world.stu.email, DEFAULT_PASSWORD)
        # His first page told Procto his browser's zone, which became his.
        assert in_thread(lambda: User.objects.get(pk=world.stu.pk).time_zone) == NEW_YORK

        row = page.locator(".exam-row", has_text=world.physics.title)
        assert row.locator("time").inner_text() == expected, row.inner_text()

        row.get_by_role("link", name="Resume").click()
        page.wait_for_url(f"{url}/sessions/{session.pk}/take/")
        deadline = page.locator("#deadline-at")
        assert deadline.inner_text() == expected  # as the server wrote it
        # ... and as the page's script rewrites it from the API's ISO 8601 UTC deadline.
        wait_until(lambda: page.locator("#clock").inner_text() != "--:--", what="the exam's clock")
        assert deadline.get_attribute("datetime").endswith(("Z", "+00:00"))
        assert deadline.inner_text() == expected

        teacher = still_camera_chromium.new_context(timezone_id="Asia/Tokyo").new_page()
        log_in(teacher, url, world.tess.email, DEFAULT_PASSWORD)
        teacher.goto(f"{url}/proctoring/sessions/{session.pk}/")
        # The review page's script formats in Tess's zone (its bootstrap), not her browser's.
        wait_until(lambda: teacher.locator("#deadline").inner_text() == expected, what="the review deadline")
        assert teacher.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "Asia/Tokyo"
        assert in_thread(lambda: User.objects.get(pk=world.tess.pk).time_zone) == NEW_YORK
        assert not errors, errors
