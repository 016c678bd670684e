"""Screen capture (issue 14, item 5; docs/PROTOCOL.md, "Screen capture"): screenshots uploaded by
the exam page are kept encrypted as screenshot-captured records and served to the session's
overseers only; refusing or stopping the share is an alert; a high-severity alert asks the page
for a screenshot; an exam that does not opt in never asks for the screen; retention, export,
purge, the review page and the PDF cover the screenshots."""

from __future__ import annotations

import asyncio
import io
import zipfile
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw
from pypdf import PdfReader

from accounts.personal_data import personal_data_export, personal_data_purge
from proctoring import tasks
from proctoring.models import ProctoringEvent
from proctoring.screen import MAX_PER_MINUTE, MAX_SCREENSHOT_BYTES
from proctoring.services import event_record, event_record_client, session_lock
from sessions.models import ExamConsent, ExamSession
from sessions.readiness import consent_record, readiness_missing, required_items, system_check_record
from sessions.realtime import session_group

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1).total_seconds()


def screen_picture(fmt: str = "WEBP", size=(1280, 720)) -> bytes:
    """A downscaled screen as the exam page sends it: a window with lines of text."""
    image = Image.new("RGB", size, "#f3f4f6")
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, size[0] - 40, size[1] - 40), fill="white", outline="#1d4ed8")
    for row in range(12):
        draw.text(
            (60, 60 + row * 40), f"Question {row + 1}: which planet is closest to the Sun?", fill="black"
        )
    out = io.BytesIO()
    image.save(out, format=fmt, quality=60)
    return out.getvalue()


WEBP = screen_picture()
AT_ALERT = screen_picture(size=(1280, 800))


@pytest.fixture
def physics_captures_screen(world):
    world.physics.screen_capture = True
    world.physics.save()
    return world.physics


def upload(client, session, picture: bytes = WEBP, name: str = "screen.webp", **fields):
    data = {"image": SimpleUploadedFile(name, picture), "trigger": "interval", **fields}
    return client.post(f"/api/exam-sessions/{session.pk}/screenshots", data)


@pytest.fixture
def exam_page():
    """The exam page's channel in its session's group: `heard()` is what reached it."""
    layer = get_channel_layer()
    channels: dict = {}

    def listen(session) -> None:
        channels["page"] = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(session_group(session.pk), channels["page"])

    def heard() -> list[dict]:
        async def drain():
            messages = []
            while True:
                try:
                    messages.append(await asyncio.wait_for(layer.receive(channels["page"]), timeout=0.3))
                except TimeoutError:
                    return messages

        return [m["message"] for m in async_to_sync(drain)()]

    return listen, heard


# --- the upload ------------------------------------------------------------------------------------


def test_a_screenshot_is_kept_encrypted_as_a_screenshot_captured_record(
    world, physics_captures_screen, storage_backend, client
):
    client.force_login(world.stu)
    response = upload(client, world.stu_in_physics, capturedAt=timezone.now().isoformat())
    assert response.status_code == 201, response.content
    event = ProctoringEvent.objects.get(pk=response.json()["data"]["id"])
    assert (event.type, event.severity, event.review_status, event.source) == (
        "screenshot-captured",
        "info",
        "none",
        "client",
    )
    assert event.details == {
        "trigger": "interval",
        "width": 1280,
        "height": 720,
        "bytes": len(WEBP),
        "format": "webp",
    }
    assert event.snapshot.startswith(f"screenshots/{world.stu_in_physics.pk}/")
    assert storage_backend.names() == [event.snapshot]
    storage_backend.assert_encrypted_at_rest(event.snapshot, WEBP)
    storage_backend.assert_private(event.snapshot, client)
    world.stu_in_physics.refresh_from_db()
    assert world.stu_in_physics.risk_score == 0  # a record, not an alert


def test_a_screenshot_is_served_to_the_sessions_overseers_and_to_no_student(
    world, physics_captures_screen, local_storage, client
):
    client.force_login(world.stu)
    event_id = upload(client, world.stu_in_physics).json()["data"]["id"]
    url = f"/proctoring/events/{event_id}/snapshot.jpg"

    for overseer in (world.pat, world.tess, world.ada):
        client.force_login(overseer)
        response = client.get(url)
        assert response.status_code == 200
        assert (response.content, response["Content-Type"]) == (WEBP, "image/webp")
        assert response["Cache-Control"] == "private, no-store"
    # Sam sits the same exam; Stu is the student on the picture: neither may fetch it.
    for student in (world.sam, world.stu):
        client.force_login(student)
        assert client.get(url).status_code == 403
    client.force_login(world.quinn)  # a proctor of another exam
    assert client.get(url).status_code == 404


def test_another_student_cannot_upload_into_a_session_that_is_not_theirs(
    world, physics_captures_screen, local_storage, client
):
    client.force_login(world.sam)
    response = upload(client, world.stu_in_physics)
    assert response.status_code == 404
    assert not ProctoringEvent.objects.filter(type="screenshot-captured").exists()
    assert local_storage.names() == []


def test_an_exam_without_screen_capture_refuses_screenshots(world, local_storage, client):
    client.force_login(world.stu)
    response = upload(client, world.stu_in_physics)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "SCREEN_CAPTURE_OFF"
    assert local_storage.names() == []


@pytest.mark.parametrize(
    ("picture", "status", "code"),
    [
        pytest.param(screen_picture("PNG"), 400, "INVALID_SCREENSHOT", id="png"),
        pytest.param(b"not a picture at all", 400, "INVALID_SCREENSHOT", id="not-a-picture"),
        pytest.param(screen_picture(size=(2560, 1440)), 400, "INVALID_SCREENSHOT", id="not-downscaled"),
        pytest.param(WEBP[: len(WEBP) // 2], 400, "INVALID_SCREENSHOT", id="cut-short"),
        pytest.param(b"RIFF" + b"\0" * (MAX_SCREENSHOT_BYTES + 1), 413, "TOO_LARGE", id="too-large"),
    ],
)
def test_a_picture_that_is_not_a_downscaled_screenshot_is_refused_with_a_reason(
    world, physics_captures_screen, local_storage, client, picture, status, code
):
    client.force_login(world.stu)
    response = upload(client, world.stu_in_physics, picture)
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert local_storage.names() == []


def test_a_jpeg_screenshot_from_a_browser_without_webp_is_kept(
    world, physics_captures_screen, local_storage, client
):
    jpeg = screen_picture("JPEG")
    client.force_login(world.stu)
    response = upload(client, world.stu_in_physics, jpeg, "screen.jpg", trigger="start")
    assert response.status_code == 201
    event = ProctoringEvent.objects.get(pk=response.json()["data"]["id"])
    assert (event.details["format"], event.details["trigger"]) == ("jpeg", "start")


def test_more_screenshots_a_minute_than_a_page_sends_are_refused(
    world, physics_captures_screen, local_storage, client
):
    client.force_login(world.stu)
    statuses = [upload(client, world.stu_in_physics).status_code for _ in range(MAX_PER_MINUTE + 1)]
    assert statuses == [201] * MAX_PER_MINUTE + [429]


def test_a_screenshot_after_the_session_ended_is_refused(
    world, physics_captures_screen, local_storage, client
):
    ExamSession.objects.filter(pk=world.stu_in_physics.pk).update(status="submitted", ended_at=timezone.now())
    client.force_login(world.stu)
    assert upload(client, world.stu_in_physics).status_code == 409


def test_a_browser_cannot_report_a_screenshot_as_an_event(world, physics_captures_screen, client):
    client.force_login(world.stu)
    response = client.post(
        f"/api/exam-sessions/{world.stu_in_physics.pk}/log-event",
        {"type": "screenshot-captured", "details": {}},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_EVENT"


# --- alerts ask for a screenshot -------------------------------------------------------------------


def test_a_high_severity_alert_asks_the_page_for_a_screenshot_kept_with_it(
    world, physics_captures_screen, local_storage, client, exam_page, django_capture_on_commit_callbacks
):
    session = world.stu_in_physics
    listen, heard = exam_page
    listen(session)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        alert, _ = event_record(
            session=session_lock(session.pk),
            type="multiple-faces",
            source="server",
            occurred_at=timezone.now(),
        )
        event_record(session=session_lock(session.pk), type="tab-switch", severity="medium", source="client",
                     occurred_at=timezone.now())  # fmt: skip
    requests = [m for m in heard() if m["type"] == "capture-screen"]
    assert requests == [{"type": "capture-screen", "alertId": alert.pk, "alertType": "multiple-faces"}]

    client.force_login(world.stu)
    response = upload(client, session, trigger="alert", alertId=alert.pk)
    assert response.status_code == 201
    screenshot = ProctoringEvent.objects.get(pk=response.json()["data"]["id"])
    assert (screenshot.details["alertId"], screenshot.details["alertType"]) == (alert.pk, "multiple-faces")
    # An alert of another session is not one this screenshot can answer.
    other, _ = event_record(
        session=world.sam_in_physics, type="multiple-faces", source="server", occurred_at=timezone.now()
    )
    assert upload(client, session, trigger="alert", alertId=other.pk).status_code == 400


def test_an_exam_without_screen_capture_never_asks_the_page_for_a_screenshot(
    world, exam_page, django_capture_on_commit_callbacks
):
    session = world.stu_in_physics
    listen, heard = exam_page
    listen(session)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event_record(
            session=session_lock(session.pk),
            type="multiple-faces",
            source="server",
            occurred_at=timezone.now(),
        )
    assert [m for m in heard() if m["type"] == "capture-screen"] == []


# --- refusing and stopping the share ---------------------------------------------------------------


def test_refusing_or_stopping_the_share_is_a_high_alert_and_starting_it_a_record(
    world, physics_captures_screen, client
):
    client.force_login(world.stu)
    url = f"/api/exam-sessions/{world.stu_in_physics.pk}/log-event"
    for type_, details in (
        ("screen-share-refused", {"reason": "NotAllowedError"}),
        ("screen-share-started", {"surface": "monitor", "width": 1920, "height": 1080}),
        ("screen-share-stopped", {}),
    ):
        assert (
            client.post(url, {"type": type_, "details": details}, content_type="application/json").status_code
            == 201
        )
    events = ProctoringEvent.objects.filter(session=world.stu_in_physics).order_by("pk")
    assert list(events.values_list("type", "severity", "review_status")) == [
        ("screen-share-refused", "high", "open"),
        ("screen-share-started", "info", "none"),
        ("screen-share-stopped", "high", "open"),
    ]
    world.stu_in_physics.refresh_from_db()
    assert world.stu_in_physics.risk_score > 0


def _share(session, type_: str, seq: int):
    return event_record_client(session_id=session.pk, student=session.student, type=type_, client_seq=seq)


@pytest.mark.parametrize(("lapse", "given_back"), [("pause", True), ("block", False), ("alert", False)])
def test_under_pause_the_time_without_the_share_is_given_back_once(
    world, physics_captures_screen, clock, exam_page, django_capture_on_commit_callbacks, lapse, given_back
):
    physics_captures_screen.screen_share_lapse = lapse
    physics_captures_screen.save()
    session = world.stu_in_physics
    listen, heard = exam_page
    listen(session)
    deadline = session.deadline
    with django_capture_on_commit_callbacks(execute=True):
        _share(session, "screen-share-started", 1)
        clock.shift(60)
        _share(session, "screen-share-stopped", 2)
        clock.shift(90)
        _share(session, "screen-share-refused", 3)  # the picker cancelled once more
        clock.shift(30)
        resumed = _share(session, "screen-share-started", 4)
        _share(session, "screen-share-started", 4)  # the same report again, after a reconnect
    session.refresh_from_db()
    if given_back:
        assert session.deadline - deadline == timedelta(seconds=120)
        assert resumed.details["timeGivenBackSeconds"] == 120
        extended = [m for m in heard() if m["type"] == "time-extended"]
        assert [(m["reason"], m["deadline"]) for m in extended] == [
            ("screen-share-paused", session.deadline.isoformat())
        ]
    else:
        assert session.deadline == deadline
        assert "timeGivenBackSeconds" not in resumed.details


def test_pause_gives_back_at_most_fifteen_minutes_and_only_at_high_security(
    world, physics_captures_screen, clock
):
    physics_captures_screen.screen_share_lapse = "pause"
    physics_captures_screen.save()
    session = world.stu_in_physics
    deadline = session.deadline
    _share(session, "screen-share-stopped", 1)
    clock.shift(3600)
    _share(session, "screen-share-started", 2)
    session.refresh_from_db()
    assert session.deadline - deadline == timedelta(minutes=15)

    physics_captures_screen.security_level = "medium"
    physics_captures_screen.save()
    _share(session, "screen-share-stopped", 3)
    clock.shift(300)
    _share(session, "screen-share-started", 4)
    session.refresh_from_db()
    assert session.deadline - deadline == timedelta(minutes=15)


# --- opting in: the pages ---------------------------------------------------------------------------


def test_an_exam_without_screen_capture_never_asks_for_the_screen(world, client):
    client.force_login(world.stu)
    page = client.get(f"/sessions/{world.stu_in_physics.pk}/take/")
    assert page.status_code == 200
    assert page.context["bootstrap"]["screenCapture"] is None
    assert b'id="screen-gate"' not in page.content
    consent = client.get(f"/exams/{world.physics.pk}/consent/").content.decode()
    assert "screen-capture-notice" not in consent
    assert 'data-kind="screenshots"' not in consent


def test_an_exam_with_screen_capture_asks_for_it_and_its_notice_says_so(
    world, physics_captures_screen, client
):
    physics_captures_screen.screenshot_interval_seconds = 45
    physics_captures_screen.save()
    client.force_login(world.stu)
    page = client.get(f"/sessions/{world.stu_in_physics.pk}/take/")
    assert page.context["bootstrap"]["screenCapture"] == {
        "intervalMs": 45_000,
        "enforced": True,  # physics is high security; the default lapse is "block"
        "timeGivenBack": False,
    }
    assert b'id="screen-gate"' in page.content
    consent = client.get(f"/exams/{world.physics.pk}/consent/").content.decode()
    assert "every 45 seconds" in consent
    assert 'id="screen-capture-notice"' in consent
    assert '<li data-kind="screenshots">' in consent


def test_screen_capture_needs_proctoring_on(world, physics_captures_screen, client):
    physics_captures_screen.proctoring_enabled = False
    physics_captures_screen.save()
    client.force_login(world.stu)
    page = client.get(f"/sessions/{world.stu_in_physics.pk}/take/")
    assert page.context["bootstrap"]["screenCapture"] is None


def test_a_consent_given_before_the_exam_captured_the_screen_must_be_given_again(world):
    exam = world.physics
    consent_record(exam=exam, student=world.stu)
    assert "consent" not in readiness_missing(exam=exam, student=world.stu)
    exam.screen_capture = True
    exam.save()
    assert "consent" in readiness_missing(exam=exam, student=world.stu)
    consent_record(exam=exam, student=world.stu)
    assert ExamConsent.objects.get(user=world.stu, exam=exam).screen_capture is True
    assert "consent" not in readiness_missing(exam=exam, student=world.stu)


# --- where screenshots show, and how long they stay -------------------------------------------------


@pytest.fixture
def stu_shared_screen(world, physics_captures_screen, client):
    """Stu shared his screen: two screenshots (one at a multiple-faces alert, which kept a webcam
    frame too) and his session is over."""
    session = world.stu_in_physics
    with transaction.atomic():
        alert, _ = event_record(
            session=session_lock(session.pk),
            type="multiple-faces",
            source="server",
            occurred_at=timezone.now(),
            snapshot=screen_picture("JPEG", (320, 240)),
        )
    client.force_login(world.stu)
    ids = [
        upload(client, session, trigger="start").json()["data"]["id"],
        upload(client, session, AT_ALERT, trigger="alert", alertId=alert.pk).json()["data"]["id"],
    ]
    client.logout()
    return {"alert": alert, "screenshots": list(ProctoringEvent.objects.filter(pk__in=ids).order_by("pk"))}


def _end(session) -> None:
    ExamSession.objects.filter(pk=session.pk).update(
        status="submitted", ended_at=timezone.now(), grading="complete", flagged=False
    )


def test_the_review_page_shows_the_screenshots_in_their_gallery_and_the_timeline(
    world, local_storage, stu_shared_screen, client
):
    client.force_login(world.pat)
    page = client.get(f"/proctoring/sessions/{world.stu_in_physics.pk}/")
    assert page.status_code == 200
    shots = stu_shared_screen["screenshots"]
    assert [row["id"] for row in page.context["screenshots"]] == [e.pk for e in shots]
    assert [row["id"] for row in page.context["snapshots"]] == [stu_shared_screen["alert"].pk]
    html = page.content.decode()
    gallery = html[html.index('id="screen-gallery"') :]
    for event in shots:
        assert f'src="/proctoring/events/{event.pk}/snapshot.jpg"' in gallery
    assert f"At alert #{stu_shared_screen['alert'].pk}" in gallery
    # The timeline's events (the page's bootstrap) hold the records, picture links included.
    timeline = {e["id"]: e for e in page.context["bootstrap"]["events"]}
    assert all(
        timeline[e.pk]["type"] == "screenshot-captured" and timeline[e.pk]["snapshotUrl"] for e in shots
    )


def test_the_pdf_report_has_a_screenshots_section(world, local_storage, stu_shared_screen, client):
    client.force_login(world.pat)
    response = client.get(f"/proctoring/sessions/{world.stu_in_physics.pk}/report.pdf")
    assert response.status_code == 200
    reader = PdfReader(
        io.BytesIO(b"".join(response.streaming_content) if response.streaming else response.content)
    )
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Screenshots" in text
    assert f"at alert #{stu_shared_screen['alert'].pk}" in text
    images = sum(len(page.images) for page in reader.pages)
    assert images == 3  # the webcam snapshot and both screenshots


@pytest.mark.parametrize(("frames", "screenshots"), [(5, 20), (20, 5)])
def test_screenshots_go_at_their_own_retention_period_and_webcam_pictures_at_theirs(
    world, storage_backend, stu_shared_screen, settings, clock, frames, screenshots
):
    settings.DATA_RETENTION_DAYS |= {"frames": frames, "screenshots": screenshots}
    _end(world.stu_in_physics)
    pictures = {
        "screenshots": {e.snapshot for e in stu_shared_screen["screenshots"]},
        "snapshots": {stu_shared_screen["alert"].snapshot},
    }
    first, second = ("snapshots", "screenshots") if frames < screenshots else ("screenshots", "snapshots")

    clock.shift(5 * DAY - 60)
    assert tasks.media_retention_apply() == {}
    clock.shift(60)
    assert tasks.media_retention_apply()[first] == len(pictures[first])
    assert set(storage_backend.names()) == pictures[second]  # the other kind waits for its period

    clock.shift(15 * DAY)
    assert tasks.media_retention_apply()[second] == len(pictures[second])
    assert storage_backend.names() == []
    records = ProctoringEvent.objects.filter(type="screenshot-captured")
    assert records.count() == 2 and not records.exclude(snapshot="").exists()  # the records stay


def test_an_exam_keeps_screenshots_for_its_own_period(world, local_storage, stu_shared_screen, clock):
    world.physics.retention_screenshots_days = 0
    world.physics.save()
    _end(world.stu_in_physics)
    assert tasks.media_retention_apply() == {"screenshots": 2}


def test_the_personal_data_export_holds_the_students_screenshots(world, local_storage, stu_shared_screen):
    out = io.BytesIO()
    names = personal_data_export(actor=world.ada, user=world.stu, out=out)
    folder = f"sessions/{world.stu_in_physics.pk}"
    shots = stu_shared_screen["screenshots"]
    assert [n for n in names if "/screenshot-" in n] == [f"{folder}/screenshot-{e.pk}.webp" for e in shots]
    archive = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    assert [archive.read(f"{folder}/screenshot-{e.pk}.webp") for e in shots] == [WEBP, AT_ALERT]
    assert f"{folder}/snapshot-{stu_shared_screen['alert'].pk}.jpg" in names


def test_a_purge_deletes_the_students_screenshots(world, local_storage, stu_shared_screen):
    _end(world.stu_in_physics)
    deleted = personal_data_purge(actor=world.ada, user=world.stu)
    assert deleted["screenshots"] == 2
    assert local_storage.names() == []


def test_the_system_check_needs_a_browser_that_can_share_the_screen_only_where_the_exam_captures_it(
    world, physics_captures_screen
):
    items = dict.fromkeys(["browser", "websocket", "camera", "microphone", "fullscreen", "bandwidth"], True)
    assert "screen" in required_items(exam=world.physics, student=world.stu)
    assert not system_check_record(exam=world.physics, student=world.stu, items=items, measurements={}).passed
    items["screen"] = True
    assert system_check_record(exam=world.physics, student=world.stu, items=items, measurements={}).passed
    assert "screen" not in required_items(exam=world.chemistry, student=world.cat)
