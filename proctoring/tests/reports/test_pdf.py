"""A session's PDF report: what a teacher files to defend a decision, readable by anyone."""

from __future__ import annotations

import io
import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image
from pypdf import PdfReader

from accounts.tests.factories import UserFactory
from exams.tests.factories import ExamFactory
from procto.encrypted_files import store_encrypted
from proctoring.models import ProctoringEvent
from proctoring.reports.pdf import MAX_SNAPSHOTS, SEVERITY_COLOURS, timeline_drawing
from proctoring.tests.faces import jpeg_bytes, two_people
from proctoring.tests.reports.reporting import CONFIRM_REASON, DISMISS_REASON, NOTE_TEXT, proctored_session

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def exam(teacher, proctor):
    exam = ExamFactory(created_by=teacher, title="Physics midterm")
    exam.proctors.add(proctor)
    return exam


@pytest.fixture
def snapshot() -> bytes:
    return jpeg_bytes(two_people())


@pytest.fixture
def reviewed(exam, student, teacher, snapshot):
    return proctored_session(exam=exam, student=student, reviewer=teacher, snapshot=snapshot)


def pdf_of(client, user, session) -> PdfReader:
    client.force_login(user)
    response = client.get(f"/proctoring/sessions/{session.pk}/report.pdf")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    return PdfReader(io.BytesIO(response.content))


def text_of(reader: PdfReader) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_the_pdf_names_the_student_every_event_type_and_every_review_reason(client, teacher, reviewed):
    text = text_of(pdf_of(client, teacher, reviewed.session))
    assert "student@school.example" in text
    assert "Physics midterm" in text
    for event_type in ("Tab switch", "Face not visible", "Multiple faces", "Paste"):  # as the pages name them
        assert event_type in text
    assert CONFIRM_REASON in text and DISMISS_REASON in text
    assert NOTE_TEXT in text  # the audit trail
    assert "7.50 / 10.00" in text
    assert f"{reviewed.session.risk_score:g} / 100" in text


def test_the_snapshot_is_embedded_as_a_picture_of_the_same_scene(client, teacher, reviewed, snapshot):
    reader = pdf_of(client, teacher, reviewed.session)
    images = [image for page in reader.pages for image in page.images]
    assert len(images) == 1
    embedded = Image.open(io.BytesIO(images[0].data))
    original = Image.open(io.BytesIO(snapshot))
    assert embedded.width / embedded.height == pytest.approx(original.width / original.height, rel=0.02)
    assert "Multiple faces · +20:00" in text_of(reader)  # its caption


def test_a_session_without_snapshots_has_no_pictures(client, teacher, exam, student):
    plain = proctored_session(exam=exam, student=student, reviewer=teacher)
    reader = pdf_of(client, teacher, plain.session)
    assert not [image for page in reader.pages for image in page.images]
    assert "No snapshots were kept" in text_of(reader)


def test_unreadable_snapshots_are_skipped_with_a_note(client, teacher, reviewed, caplog):
    session = reviewed.session
    start = session.started_at
    not_a_picture = ProctoringEvent.objects.create(
        session=session,
        type="camera-blocked",
        severity="high",
        source="server",
        occurred_at=start + timedelta(minutes=30),
        snapshot=store_encrypted(b"these bytes are not a JPEG", folder=f"snapshots/{session.pk}"),
    )
    gone = ProctoringEvent.objects.create(
        session=session,
        type="identity-mismatch",
        severity="critical",
        source="server",
        occurred_at=start + timedelta(minutes=31),
        snapshot=f"snapshots/{session.pk}/{'0' * 32}.enc",
    )
    with caplog.at_level(logging.WARNING, logger="proctoring.reports.pdf"):
        reader = pdf_of(client, teacher, session)
    text = text_of(reader)
    assert f"The snapshot of event {not_a_picture.pk} (Camera blocked) could not be read." in text
    assert f"The snapshot of event {gone.pk} (Identity mismatch) could not be read." in text
    assert len([image for page in reader.pages for image in page.images]) == 1  # the readable one
    assert sum("unreadable" in record.message for record in caplog.records) == 2


def test_at_most_the_first_24_snapshots_are_printed(client, teacher, exam, student):
    session = proctored_session(exam=exam, student=student, reviewer=teacher).session
    scene = two_people()[::8, ::8]
    for minute in range(MAX_SNAPSHOTS + 3):
        # A different frame each time: the PDF stores identical pictures once.
        small = jpeg_bytes(scene[minute:, minute:])
        ProctoringEvent.objects.create(
            session=session,
            type="multiple-faces",
            severity="high",
            source="server",
            occurred_at=session.started_at + timedelta(minutes=minute),
            snapshot=store_encrypted(small, folder=f"snapshots/{session.pk}"),
        )
    reader = pdf_of(client, teacher, session)
    assert len([image for page in reader.pages for image in page.images]) == MAX_SNAPSHOTS
    assert f"The first {MAX_SNAPSHOTS} of {MAX_SNAPSHOTS + 3} snapshots" in text_of(reader)


def test_every_page_says_who_generated_it_and_its_number(client, proctor, exam, student, teacher):
    session = proctored_session(exam=exam, student=student, reviewer=teacher).session
    ProctoringEvent.objects.bulk_create(
        ProctoringEvent(
            session=session,
            type="window-blur",
            source="client",
            occurred_at=session.started_at + timedelta(seconds=10 * i),
        )
        for i in range(150)
    )
    reader = pdf_of(client, proctor, session)
    pages = [" ".join(page.extract_text().split()) for page in reader.pages]
    assert len(pages) >= 3
    for number, page in enumerate(pages, 1):
        assert f"Page {number} of {len(pages)}" in page
        assert "by" in page and "proctor@school.example" in page
    # The full log: every one of the 154 events has its row.
    assert sum(page.count("Window blur") for page in pages) >= 150


def test_the_timeline_draws_each_event_where_and_as_long_as_it_happened(reviewed):
    session = reviewed.session
    drawing = timeline_drawing(session, list(session.events.order_by("occurred_at")))
    high = [
        shape
        for shape in drawing.contents
        if getattr(shape, "fillColor", None) == SEVERITY_COLOURS["high"] and shape.y > 20  # not the legend
    ]
    assert len(high) == 1  # the confirmed multiple-faces event; dismissed ones are drawn hollow
    bar = high[0]
    plot_left = min(s.x for s in drawing.contents if type(s).__name__ == "Rect" and s.y > 20)
    minute = bar.width  # 60 s long: one minute of the 35-minute session
    assert (bar.x - plot_left) / minute == pytest.approx(20, rel=0.01)
    hollow = [
        shape
        for shape in drawing.contents
        if getattr(shape, "strokeColor", None) == SEVERITY_COLOURS["medium"]
        and shape.fillColor.hexval() == "0xffffff"
    ]
    assert len(hollow) == 1  # the dismissed face-not-visible


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", 302),
        ("the student", 404),
        ("another teacher", 404),
        ("an unassigned proctor", 404),
        ("the teacher", 200),
        ("the assigned proctor", 200),
        ("an admin", 200),
    ],
)
def test_only_the_staff_who_watch_the_session_get_its_pdf(
    client, reviewed, student, teacher, proctor, admin_user, who, expected
):
    people = {
        "the student": student,
        "another teacher": UserFactory(role="teacher"),
        "an unassigned proctor": UserFactory(role="proctor"),
        "the teacher": teacher,
        "the assigned proctor": proctor,
        "an admin": admin_user,
    }
    if who in people:
        client.force_login(people[who])
    response = client.get(f"/proctoring/sessions/{reviewed.session.pk}/report.pdf")
    assert response.status_code == expected


def test_exporting_a_pdf_is_logged_with_who_and_which_session(client, teacher, reviewed, caplog):
    with caplog.at_level(logging.INFO, logger="proctoring.reports.views"):
        pdf_of(client, teacher, reviewed.session)
    assert any(
        "teacher@school.example" in r.getMessage() and str(reviewed.session.pk) in r.getMessage()
        for r in caplog.records
    )


def test_a_running_session_reports_so(client, teacher, exam, student):
    session = proctored_session(
        exam=exam, student=student, reviewer=teacher, status="in-progress", ended_at=None
    ).session
    session.deadline = timezone.now() + timedelta(minutes=20)
    session.save()
    assert "still in progress" in text_of(pdf_of(client, teacher, session))


def test_the_pdf_shows_times_in_the_zone_of_whoever_generated_it(client, teacher, reviewed):
    import zoneinfo

    from procto.local_time import local_datetime

    teacher.time_zone = zoneinfo.ZoneInfo("America/New_York")
    teacher.save()
    text = text_of(pdf_of(client, teacher, reviewed.session))
    started = local_datetime(reviewed.session.started_at, teacher.time_zone)
    assert started in text and started.endswith(("EST", "EDT"))
    assert "America/New_York" in text
