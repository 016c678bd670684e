"""The session review page and its private media: who sees it, and what it shows."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from exams.models import Accommodation, Question
from procto.encrypted_files import store_encrypted
from proctoring import actions, media_series
from proctoring.models import ProctoringEvent
from sessions.models import Answer, ExamSession

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0 a webcam frame \xff\xd9"
WEBM = b"\x1a\x45\xdf\xa3" + b"\x00" * 64 + b"room scan"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def session(world):
    """Stu's physics session, twenty minutes in. Tess teaches physics and Pat proctors it; they
    are the `teacher` and `proctor` the tests log in as, and Stu is the `student`."""
    session = world.stu_in_physics
    session.started_at = timezone.now() - timedelta(minutes=20)
    session.save(update_fields=["started_at"])
    return session


@pytest.fixture
def server_event(session):
    return ProctoringEvent.objects.create(
        session=session,
        type="multiple-faces",
        severity="high",
        source="server",
        confidence=0.91,
        details={"faceCount": 2, "frameSeq": 88, "source": "frame"},
        occurred_at=session.started_at + timedelta(minutes=5),
        ended_at=session.started_at + timedelta(minutes=5, seconds=12),
        snapshot=store_encrypted(JPEG, folder=f"snapshots/{session.pk}"),
    )


def page_url(session) -> str:
    return f"/proctoring/sessions/{session.pk}/"


def bootstrap(response) -> dict:
    found = re.search(
        rb'<script id="review-bootstrap" type="application/json">(.*?)</script>', response.content
    )
    return json.loads(found.group(1))


def login(client, user):
    client.force_login(user)
    return client


# --- who may look --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("assigned proctor", 200),
        ("exam's teacher", 200),
        ("admin", 200),
        ("unassigned proctor", 404),
        ("teacher of another exam", 404),
        ("the student", 403),
        ("another student", 403),
    ],
)
def test_only_the_staff_overseeing_the_exam_see_the_page(client, world, session, who, expected):
    user = {
        "assigned proctor": world.pat,
        "exam's teacher": world.tess,
        "admin": world.ada,
        "unassigned proctor": world.quinn,  # history's, not physics'
        "teacher of another exam": world.vic,
        "the student": world.stu,
        "another student": world.sam,  # Stu's classmate in physics
    }[who]
    response = login(client, user).get(page_url(session))
    assert response.status_code == expected
    if expected == 200:
        assert session.student.display_name.encode() in response.content


def test_anonymous_visitors_are_sent_to_log_in(client, session):
    response = client.get(page_url(session))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_unknown_session_is_404(client, proctor):
    response = login(client, proctor).get("/proctoring/sessions/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404


# --- what it shows -------------------------------------------------------------------------------


def test_every_event_is_listed_with_its_review(client, session, proctor, teacher, server_event):
    tab = ProctoringEvent.objects.create(
        session=session,
        type="tab-switch",
        severity="medium",
        source="client",
        details={"hiddenMs": 4200},
        occurred_at=session.started_at + timedelta(minutes=2),
    )
    actions.event_review(actor=teacher, event_id=tab.pk, status="dismissed", reason="Opened the allowed PDF")
    html = login(client, proctor).get(page_url(session)).content.decode()
    assert html.count("<tr data-event-id=") == 2
    tab_row = re.search(rf'<tr data-event-id="{tab.pk}".*?</tr>', html, re.S).group(0)
    assert 'data-review="dismissed"' in tab_row
    assert "Tab switch" in tab_row and "Away from the exam page for 4 s" in tab_row
    assert f"by {teacher.display_name}" in tab_row and "Opened the allowed PDF" in tab_row
    faces_row = re.search(rf'<tr data-event-id="{server_event.pk}".*?</tr>', html, re.S).group(0)
    assert (
        "Multiple faces" in faces_row and "91%" in faces_row and "12 s" in faces_row and "+5:00" in faces_row
    )
    # In words (proctoring.wording); sequence numbers say nothing to a reviewer.
    assert "2 faces on camera" in faces_row and "Camera" in faces_row
    assert "faceCount" not in faces_row and "frameSeq" not in faces_row
    # The frame's number, looked for in the row's text: its markup holds the event's id, which
    # can contain 88 once the database has made that many events (it did in CI).
    assert "88" not in re.sub(r"<[^>]+>", " ", faces_row)
    # Rows come in time order: the tab switch (minute 2) before the faces (minute 5).
    assert html.index(f'data-event-id="{tab.pk}"') < html.index(f'data-event-id="{server_event.pk}"')


def test_the_audit_trail_lists_proctor_actions_newest_first(client, session, proctor):
    actions.session_note_add(actor=proctor, session_id=session.pk, text="Student reported a noisy flat")
    actions.session_warn(actor=proctor, session_id=session.pk, message="Please face the camera")
    actions.session_extend_time(actor=proctor, session_id=session.pk, minutes=7)
    html = login(client, proctor).get(page_url(session)).content.decode()
    audit = re.search(r'<ol class="audit" id="audit-list".*?</ol>', html, re.S).group(0)
    titles = re.findall(r'<p class="audit-title">(.*?)</p>', audit)
    assert titles == ["Extended the time by 7 min", "Sent a message", "Added a note"]
    assert "Please face the camera" in audit and proctor.display_name in audit


def test_the_action_forms_are_there_and_close_with_the_session(client, session, proctor):
    html = login(client, proctor).get(page_url(session)).content.decode()
    for action in ("warn", "note", "extend", "terminate"):
        assert f'data-action="{action}"' in html
    assert "Send message" in html
    session.status, session.ended_at = ExamSession.Status.SUBMITTED, timezone.now()
    session.save()
    html = login(client, proctor).get(page_url(session)).content.decode()
    warn_form = re.search(r'<form data-action="warn".*?</form>', html, re.S).group(0)
    note_form = re.search(r'<form data-action="note".*?</form>', html, re.S).group(0)
    assert "disabled" in warn_form and "disabled" not in note_form


def test_the_header_shows_status_risk_accommodation_and_answer_progress(client, world, session, proctor):
    exam = world.physics
    session.risk_score, session.flagged = 63.4, True
    questions = [
        Question.objects.create(exam=exam, type="Paragraph", text=f"Q{i}", order=i) for i in range(4)
    ]
    session.question_order = [q.pk for q in questions]
    session.save()
    Answer.objects.create(session=session, question=questions[0], response="An answer")
    Answer.objects.create(session=session, question=questions[1], response="")  # typed, then erased
    Answer.objects.create(session=session, question=questions[2], response="Another")
    Accommodation.objects.create(exam=exam, student=session.student, extra_minutes=15)
    html = login(client, proctor).get(page_url(session)).content.decode()
    assert "<b>2</b> of 4 answered" in html
    assert "last saved" in html
    assert "+15 min" in html
    assert '<b id="risk-score">63</b>' in html
    assert re.search(r'id="flag-pill"\s*>', html)  # shown: not hidden
    assert "In progress" in html


def test_the_page_data_carries_the_media_series_and_events(client, session, proctor, server_event):
    at = session.started_at + timedelta(minutes=1)
    media_series.frame_sample_record(session_id=session.pk, at=at, face_count=1)
    media_series.frame_sample_record(session_id=session.pk, at=at + timedelta(seconds=4), face_count=2)
    media_series.audio_sample_record(session_id=session.pk, at=at, level_dbfs=-48.26)
    data = bootstrap(login(client, proctor).get(page_url(session)))
    assert [n for _, n in data["series"]["faces"]] == [1, 2]
    assert [level for _, level in data["series"]["audio"]] == [-48.3]
    assert data["series"]["faces"][0][0].startswith(at.isoformat()[:19])
    (event,) = data["events"]
    assert (event["id"], event["type"], event["durationSeconds"]) == (server_event.pk, "multiple-faces", 12.0)
    assert data["urls"]["socket"] == f"/ws/monitor/?exam={session.exam_id}"
    assert data["timeRemaining"] > 0


def test_the_page_reads_in_a_fixed_number_of_queries(
    client, session, proctor, django_assert_max_num_queries, server_event
):
    login(client, proctor)
    with django_assert_max_num_queries(30) as few:
        client.get(page_url(session))
    for i in range(40):
        ProctoringEvent.objects.create(
            session=session, type="tab-switch", source="client", occurred_at=session.started_at, client_seq=i
        )
        actions.session_note_add(actor=proctor, session_id=session.pk, text=f"note {i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(page_url(session))


# --- snapshots -----------------------------------------------------------------------------------


def snapshot_url(event) -> str:
    return f"/proctoring/events/{event.pk}/snapshot.jpg"


def test_a_snapshot_is_served_decrypted_to_the_staff_overseeing_it(client, proctor, server_event):
    response = login(client, proctor).get(snapshot_url(server_event))
    assert response.status_code == 200
    assert response.content == JPEG
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"


def test_the_page_shows_the_snapshot_gallery(client, session, proctor, server_event):
    html = login(client, proctor).get(page_url(session)).content.decode()
    assert f'<img src="{snapshot_url(server_event)}"' in html


@pytest.mark.parametrize(
    ("who", "expected"), [("unassigned proctor", 404), ("other teacher", 404), ("student", 403)]
)
def test_a_snapshot_is_not_served_to_others(client, world, server_event, who, expected):
    user = {"unassigned proctor": world.quinn, "other teacher": world.vic, "student": world.stu}[who]
    response = login(client, user).get(snapshot_url(server_event))
    assert response.status_code == expected
    assert JPEG not in response.content


def test_an_event_without_a_snapshot_is_404(client, session, proctor):
    event = ProctoringEvent.objects.create(
        session=session, type="tab-switch", source="client", occurred_at=timezone.now()
    )
    assert login(client, proctor).get(snapshot_url(event)).status_code == 404


def test_a_snapshot_missing_from_storage_is_404_not_500(client, proctor, server_event, tmp_path):
    (tmp_path / server_event.snapshot).unlink()
    assert login(client, proctor).get(snapshot_url(server_event)).status_code == 404


# --- room scan -----------------------------------------------------------------------------------


def room_scan_url(session) -> str:
    return f"/proctoring/sessions/{session.pk}/room-scan"


@pytest.fixture
def scanned(session):
    session.room_scan = store_encrypted(WEBM, folder="room-scans")
    session.save()
    return session


def test_the_room_scan_is_played_to_the_staff_overseeing_it(client, teacher, scanned):
    response = login(client, teacher).get(room_scan_url(scanned))
    assert response.status_code == 200
    assert response.content == WEBM
    assert response["Content-Type"] == "video/webm"
    assert response["Cache-Control"] == "private, no-store"
    html = client.get(page_url(scanned)).content.decode()
    assert f'<video class="room-scan" controls preload="metadata" src="{room_scan_url(scanned)}">' in html


def test_the_room_scan_can_be_sought_through_range_requests(client, teacher, scanned):
    response = login(client, teacher).get(room_scan_url(scanned), headers={"Range": "bytes=4-11"})
    assert response.status_code == 206
    assert response.content == WEBM[4:12]
    assert response["Content-Range"] == f"bytes 4-11/{len(WEBM)}"
    assert (response["Content-Type"], response["Cache-Control"]) == ("video/webm", "private, no-store")


@pytest.mark.parametrize(("who", "expected"), [("unassigned proctor", 404), ("student", 403)])
def test_the_room_scan_is_not_served_to_others(client, world, scanned, who, expected):
    user = world.quinn if who == "unassigned proctor" else world.stu
    response = login(client, user).get(room_scan_url(scanned))
    assert response.status_code == expected
    assert WEBM not in response.content


def test_a_session_without_a_room_scan_says_so(client, session, proctor):
    assert login(client, proctor).get(room_scan_url(session)).status_code == 404
    assert b"No room scan." in client.get(page_url(session)).content
