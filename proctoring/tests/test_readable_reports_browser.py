"""Reports a person reads, in real Chromium: the exam report fits a 1366 px screen, the review page
says every event in words (the rows it renders and those that arrive live), dismissing an alert
offers reasons that fit its kind, and all their text reads at 4.5:1 or more."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from procto.tests.browser import BROWSER_TEST_MARKS, in_thread, live_stack, log_in, wait_until
from procto.tests.contrast import low_contrast_text
from proctoring import actions
from proctoring.models import ProctoringEvent
from proctoring.realtime import broadcast_alert
from sessions.models import ExamSession
from sessions.tests.factories import ExamSessionFactory

pytestmark = BROWSER_TEST_MARKS

LAPTOP = {"width": 1366, "height": 768}
HEAD_POSE = {"faceCount": 1, "headPose": {"yaw": 35.2, "pitch": -8.4, "roll": 2.4}, "brightness": 112.3}
SPEECH = {"levelDbfs": -23.4, "speechRatio": 0.82, "pitchHz": 180.0, "voices": 1, "source": "audio"}
# The reasons offered for a camera alert, which must not be offered for a voice.
ON_CAMERA = "False alarm: nothing suspicious on camera."
IN_SOUND = "False alarm: nothing suspicious in the sound."


def _record(world) -> dict[str, ProctoringEvent]:
    """Stu's physics session (in progress): an alert of every severity, some reviewed by Tess.
    Three more students, with the long names and addresses real classes have, finished it."""
    session = world.stu_in_physics
    start = timezone.now() - timedelta(minutes=20)
    ExamSession.objects.filter(pk=session.pk).update(started_at=start, deadline=start + timedelta(hours=1))

    def event(type_, severity, source, minute, **fields):
        return ProctoringEvent.objects.create(
            session=session,
            type=type_,
            severity=severity,
            source=source,
            occurred_at=start + timedelta(minutes=minute),
            **fields,
        )

    events = {
        "off-screen": event("off-screen", "medium", "server", 2, details=HEAD_POSE | {"source": "frame"}),
        "multiple-faces": event("multiple-faces", "high", "server", 3, details={"faceCount": 2}),
        "tab-switch": event("tab-switch", "medium", "client", 4, details={"durationMs": 12400}),
        "window-blur": event("window-blur", "low", "client", 5, details={"durationMs": 3000}),
        "page-reload": event(
            "page-reload", "info", "client", 6, details={"awayMs": 5200}, review_status="none"
        ),
        "identity-mismatch": event("identity-mismatch", "critical", "server", 7, details={"source": "frame"}),
        "speech-detected": event("speech-detected", "medium", "server", 8, details=SPEECH),
    }
    actions.event_review(
        actor=world.tess, event_id=events["multiple-faces"].pk, status="confirmed", reason=""
    )
    actions.event_review(
        actor=world.tess,
        event_id=events["tab-switch"].pk,
        status="dismissed",
        reason="Opened the allowed PDF",
    )
    for first, last in [("Maximiliana", "Fernández-Castellanos"), ("Jean-Baptiste", "Oyelaran-Whitfield")]:
        student = UserFactory(
            role="student",
            first_name=first,
            last_name=last,
            email=f"{first}.{last}@students.example-university.edu".lower(),
        )
        ExamSessionFactory(
            exam=world.physics,
            student=student,
            started_at=start,
            deadline=start + timedelta(hours=1),
            ended_at=start + timedelta(minutes=51),
            status=ExamSession.Status.CHEATING_DETECTED,
            end_reason="Ended by the proctor after a second person sat down beside the student",
            final_score=Decimal("17.25"),
            max_score=Decimal("20"),
            grading=ExamSession.Grading.COMPLETE,
            risk_score=88.5,
            flagged=True,
        )
    return events


def test_the_exam_report_and_the_review_page_read_in_words_fit_a_laptop_and_read_at_aa(
    browser, tmp_path, transactional_world, settings
):
    world = transactional_world
    events = in_thread(_record, world)
    with live_stack(tmp_path, settings) as url:
        page = browser.new_context(viewport=LAPTOP).new_page()
        log_in(page, url, world.tess.email, DEFAULT_PASSWORD)

        # The exam report: every column on screen, nothing to scroll sideways (it clipped Records).
        page.goto(f"{url}/exams/{world.physics.pk}/report/")
        fit = page.evaluate(
            """() => {
              const box = document.querySelector('.report-scroll');
              const cells = [...document.querySelectorAll('table.report tr > :last-child')];
              return {table: document.querySelector('table.report').scrollWidth, box: box.clientWidth,
                      right: Math.max(...cells.map((c) => c.getBoundingClientRect().right)),
                      boxRight: box.getBoundingClientRect().right,
                      page: document.documentElement.scrollWidth};
            }"""
        )
        assert fit["table"] <= fit["box"] and fit["right"] <= fit["boxRight"] + 0.5, fit
        assert fit["page"] <= LAPTOP["width"], fit
        assert low_contrast_text(page) == []

        # The review page: the details in words, the source and the review too.
        page.goto(f"{url}/proctoring/sessions/{world.stu_in_physics.pk}/")
        off_screen = page.locator(f'tr[data-event-id="{events["off-screen"].pk}"]')
        assert off_screen.locator(".ev-details").inner_text() == "Looking 35° left and 8° down"
        assert off_screen.locator(".ev-source").inner_text() == "Camera"
        assert off_screen.locator(".review-state").inner_text() == "Not reviewed"
        # Beside the actions panel, nothing clipped: the Confirm and Dismiss buttons were.
        events_fit = "t => t.scrollWidth <= t.parentElement.clientWidth"
        assert page.locator("#event-table").evaluate(events_fit)
        table_text = page.locator("#event-table").inner_text()
        assert "{" not in table_text and "headPose" not in table_text and "durationMs" not in table_text

        # An alert arriving live reads as the server renders it.
        def live_alert():
            with transaction.atomic():
                event = ProctoringEvent.objects.create(
                    session=world.stu_in_physics,
                    type="multiple-voices",
                    severity="high",
                    source="server",
                    occurred_at=timezone.now(),
                    details=SPEECH | {"voices": 2, "audioSeq": 99},
                )
                broadcast_alert(event, exam_id=world.physics.pk)
            return event

        wait_until(
            lambda: page.locator("#live-state").get_attribute("data-state") == "open", what="the socket"
        )
        live = in_thread(live_alert)
        live_row = page.locator(f'tr[data-event-id="{live.pk}"]')
        live_row.wait_for()
        assert live_row.locator(".ev-label").inner_text() == "Multiple voices"
        assert (
            live_row.locator(".ev-details")
            .inner_text()
            .startswith("2 different voices heard so far · speech")
        )
        assert live_row.locator(".ev-source").inner_text() == "Microphone"

        # Dismissing a voice offers reasons about sound, not "nothing suspicious on camera".
        speech = page.locator(f'tr[data-event-id="{events["speech-detected"].pk}"]')
        speech.locator('button[data-review="dismissed"]').click()
        presets = page.locator("#dismiss-dialog [data-dialog-presets] button")
        assert IN_SOUND in presets.all_inner_texts() and ON_CAMERA not in presets.all_inner_texts()
        presets.filter(has_text=IN_SOUND).click()
        assert page.locator("#dismiss-reason").input_value() == IN_SOUND
        assert low_contrast_text(page) == []  # the page, its severities and the dialog
        page.locator('#dismiss-dialog button[value="cancel"]').click()
        camera = page.locator(f'tr[data-event-id="{events["off-screen"].pk}"]')
        camera.locator('button[data-review="dismissed"]').click()
        assert ON_CAMERA in presets.all_inner_texts()


def test_the_monitor_shows_reviewed_alerts_at_aa_and_dismiss_reasons_that_fit_the_alert(
    browser, tmp_path, transactional_world, settings
):
    world = transactional_world
    events = in_thread(_record, world)
    with live_stack(tmp_path, settings) as url:
        page = browser.new_context(viewport=LAPTOP).new_page()
        log_in(page, url, world.pat.email, DEFAULT_PASSWORD)
        page.goto(f"{url}/proctoring/monitor/")
        reviewed = page.locator('.feed-entry[data-review-status="dismissed"]')
        reviewed.first.wait_for()
        # Faded to 60%, the reviewed alerts' muted text read at 2.9:1.
        assert low_contrast_text(page) == []
        page.locator(
            f'.feed-entry[data-event-id="{events["speech-detected"].pk}"] [data-action=dismiss]'
        ).click()
        offered = page.locator("#action-presets .preset").all_inner_texts()
        assert IN_SOUND in offered and ON_CAMERA not in offered
        page.locator("#action-cancel").click()
        page.locator(f'.feed-entry[data-event-id="{events["off-screen"].pk}"] [data-action=dismiss]').click()
        assert ON_CAMERA in page.locator("#action-presets .preset").all_inner_texts()
