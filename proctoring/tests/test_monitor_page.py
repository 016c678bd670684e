"""The proctors' live monitor page and the live API behind it: who sees which students, what each
card says, and that 300 students cost the same few queries as one."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from exams.tests.factories import ExamFactory
from proctoring.models import ProctoringEvent
from proctoring.selectors import live_session_cards
from proctoring.stream_state import frame_metrics_key, last_at_key, last_seq_key, unmonitored_key
from sessions.models import ExamSession
from sessions.tests.factories import ExamSessionFactory

pytestmark = pytest.mark.django_db
MONITOR = "/proctoring/monitor/"


# Who is on whose monitor follows the `world`: Pat watches physics (Stu and Sam), Tess teaches
# physics and chemistry (Cat), Vic's history (Hal) is nobody else's, and Ada sees everyone.


@pytest.fixture
def fay_finished(world):
    """Fay sat physics too and has handed it in: no longer anyone's live concern."""
    fay = UserFactory(first_name="Fay", last_name="Finished", role="student")
    return ExamSessionFactory(
        exam=world.physics, student=fay, status=ExamSession.Status.SUBMITTED, ended_at=timezone.now()
    )


def event(session, type_="multiple-faces", severity="high", review_status="open"):
    return ProctoringEvent.objects.create(
        session=session,
        type=type_,
        severity=severity,
        source="server",
        occurred_at=timezone.now(),
        review_status=review_status,
    )


def stream(session, *, at: float, faces: int = 1, seq: int = 7) -> None:
    """What the stream socket and the frame worker leave in the cache for a session."""
    cache.set(last_at_key(session.pk, "frame"), at)
    cache.set(last_seq_key(session.pk, "frame"), seq)
    cache.set(frame_metrics_key(session.pk), {"faceCount": faces, "at": at})


def page(client, user, query: str = ""):
    client.force_login(user)
    return client.get(MONITOR + query)


def bootstrap(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="monitor-bootstrap" type="application/json">') + len(
        '<script id="monitor-bootstrap" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def grid_html(response) -> str:
    """The server-rendered cards (not the script's data, which names every alert type)."""
    html = response.content.decode()
    start = html.index('id="grid"')
    return html[start : html.index('id="grid-empty"', start)]


def card_ids(response) -> set[str]:
    return {card["id"] for card in bootstrap(response)["cards"]}


def ids(*sessions) -> set[str]:
    return {str(session.pk) for session in sessions}


def card_of(cards: list[dict], session) -> dict:
    """The one card of `session` among a monitor's cards."""
    [card] = [card for card in cards if card["id"] == str(session.pk)]
    return card


def live(user, query: str = ""):
    api = APIClient()
    api.force_authenticate(user)
    return api.get("/api/exam-sessions/live" + query)


# --- who sees whom --------------------------------------------------------------------------------


def test_a_proctor_sees_only_the_students_of_the_exams_assigned_to_them(client, world, fay_finished):
    response = page(client, world.pat)
    assert response.status_code == 200
    assert card_ids(response) == ids(world.stu_in_physics, world.sam_in_physics)
    html = response.content.decode()
    assert f'data-session-id="{world.stu_in_physics.pk}"' in html
    assert "Stu Stone" in html
    assert "Cat Costa" not in html  # chemistry: Tess's, but not Pat's
    assert "Hal Hughes" not in html  # history: another teacher's
    assert "Fay Finished" not in html  # finished: not on the live monitor


def test_a_teacher_sees_the_students_of_their_own_exams(client, world):
    assert card_ids(page(client, world.tess)) == ids(
        world.stu_in_physics, world.sam_in_physics, world.cat_in_chemistry
    )


def test_an_admin_sees_every_student_in_progress(client, world):
    response = page(client, world.ada)
    assert card_ids(response) == ids(
        world.stu_in_physics, world.sam_in_physics, world.cat_in_chemistry, world.hal_in_history
    )
    assert "Hal Hughes" in response.content.decode()


def test_a_student_is_refused_with_a_403_page(client, world):
    response = page(client, world.sid)
    assert response.status_code == 403
    assert "Stu Stone" not in response.content.decode()


def test_an_anonymous_visitor_is_sent_to_log_in(client, world):
    response = client.get(MONITOR)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_navigation_offers_the_monitor_to_staff_only(client, proctor, student):
    client.force_login(proctor)
    assert 'href="/proctoring/monitor/"' in client.get("/").content.decode()
    client.force_login(student)
    assert 'href="/proctoring/monitor/"' not in client.get("/").content.decode()


def test_the_exam_filter_narrows_the_page_and_refuses_other_exams(client, world):
    narrowed = page(client, world.ada, f"?exam={world.history.pk}")
    assert card_ids(narrowed) == ids(world.hal_in_history)
    assert bootstrap(narrowed)["examId"] == world.history.pk
    assert page(client, world.pat, f"?exam={world.history.pk}").status_code == 404
    assert page(client, world.pat, "?exam=physics").status_code == 400


def test_the_live_api_has_the_same_scope_and_filter(world):
    proctor = world.pat
    assert sorted(s["id"] for s in live(proctor).json()["data"]) == sorted(
        ids(world.stu_in_physics, world.sam_in_physics)
    )
    assert len(live(world.ada).json()["data"]) == 4
    assert live(proctor, f"?examId={world.history.pk}").status_code == 404
    response = live(proctor, "?examId=abc")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


# --- what a card says -----------------------------------------------------------------------------


def test_a_card_shows_risk_faces_alerts_flag_and_a_live_camera(client, proctor, world):
    stu = world.stu_in_physics
    ExamSession.objects.filter(pk=stu.pk).update(risk_score=72.4, flagged=True)
    event(stu, "multiple-faces", "high")
    event(stu, "multiple-faces", "high")
    event(stu, "tab-switch", "medium", review_status="dismissed")
    stream(stu, at=time.time() - 1, faces=2, seq=17)

    response = page(client, proctor)
    html = grid_html(response)
    assert 'data-connection="live"' in html
    assert 'data-flagged="true"' in html
    assert f"/proctoring/sessions/{stu.pk}/thumbnail.jpg?seq=17" in html
    assert "2 faces" in html
    assert "Multiple faces <b>\N{MULTIPLICATION SIGN}2</b>" in html
    assert "Tab switch" not in html  # dismissed: nothing left to review
    assert f'href="/proctoring/sessions/{stu.pk}/"' in html
    card = card_of(bootstrap(response)["cards"], stu)
    assert card["riskScore"] == 72.4 and card["flagged"] is True
    assert card["openAlerts"] == [
        {"type": "multiple-faces", "label": "Multiple faces", "severity": "high", "count": 2}
    ]
    assert card["openHighCount"] == 2


def test_the_live_api_returns_what_a_card_needs(proctor, world):
    stu = world.stu_in_physics
    first = event(stu, "face-not-visible", "medium")
    newest = event(stu, "identity-mismatch", "critical")
    stream(stu, at=time.time() - 3, faces=1, seq=4)

    card = card_of(live(proctor).json()["data"], stu)
    assert card["studentName"] == "Stu Stone"
    assert card["faceCount"] == 1
    assert card["thumbnailUrl"] == f"/proctoring/sessions/{stu.pk}/thumbnail.jpg?seq=4"
    assert card["connection"] == "live"
    assert card["lastMediaAt"] == pytest.approx(time.time() - 3, abs=2)
    assert card["liveWindowSeconds"] == 12  # high security: a frame every 2 s, media pushed every 10 s
    assert card["openAlertIds"] == [
        [newest.pk, "identity-mismatch", "critical"],
        [first.pk, "face-not-visible", "medium"],
    ]
    assert [a["type"] for a in card["openAlerts"]] == ["identity-mismatch", "face-not-visible"]
    assert card["lastEventId"] == newest.pk
    assert card["detailUrl"] == f"/proctoring/sessions/{stu.pk}/"
    assert card["timeRemaining"] > 0 and card["deadline"]


@pytest.mark.parametrize(
    ("seconds_ago", "unmonitored", "expected"),
    [
        (1, False, "live"),
        (30, False, "stale"),  # beyond the live window, short of offline
        (600, False, "offline"),  # nothing for ten minutes
        (1, True, "offline"),  # the heartbeat found the stream lost
    ],
)
def test_the_connection_state_follows_the_last_media(proctor, world, seconds_ago, unmonitored, expected):
    stu = world.stu_in_physics
    stream(stu, at=time.time() - seconds_ago)
    cache.set(unmonitored_key(stu.pk), unmonitored)
    card = card_of(live_session_cards(user=proctor), stu)
    assert card["connection"] == expected
    assert card["unmonitored"] is unmonitored


def test_a_student_without_media_yet_is_stale_then_offline(proctor, world):
    stu = world.stu_in_physics
    assert card_of(live_session_cards(user=proctor), stu)["connection"] == "stale"
    later = stu.started_at + timedelta(minutes=5)
    card = card_of(live_session_cards(user=proctor, now=later), stu)
    assert (card["connection"], card["thumbnail_url"], card["face_count"]) == ("offline", None, None)


def test_a_camera_exempt_student_is_not_shown_as_offline(proctor, world):
    stu = world.stu_in_physics
    ExamSession.objects.filter(pk=stu.pk).update(media_exempt=True)
    assert card_of(live_session_cards(user=proctor), stu)["connection"] == "exempt"


def test_the_page_hands_its_script_a_watermark_and_the_recent_alerts(client, proctor, world):
    mine = event(world.stu_in_physics, "paste", "medium")
    event(world.hal_in_history, "paste", "high")  # history's: not for Pat
    data = bootstrap(page(client, proctor))
    assert data["lastEventId"] >= mine.pk
    assert [(a["id"], a["studentName"]) for a in data["recentAlerts"]] == [(mine.pk, "Stu Stone")]
    assert data["urls"]["review"] == "/api/proctoring-events/{id}/review"
    assert data["urls"]["actions"] == "/api/exam-sessions/{id}/actions"


def test_the_page_leaves_room_for_admissions_and_marks_its_parts_for_tests(client, proctor, world):
    html = page(client, proctor).content.decode()
    assert '<section id="admissions" hidden></section>' in html
    assert html.index('id="admissions"') < html.index('id="grid"')
    assert 'id="socket-state" data-state="connecting"' in html
    assert 'data-event-id=""' in html  # the feed entry template
    assert "js/monitor/monitor-page.js" in html


# --- bounded queries ------------------------------------------------------------------------------


@pytest.fixture
def crowded(proctor, settings):
    """An exam with 300 students in progress, each with a few alerts and a live stream."""
    if "locmem" in settings.CACHES["default"]["BACKEND"]:
        # Embedded mode's local-memory cache keeps 300 entries by default: fewer than 300 streams.
        settings.CACHES = {"default": settings.CACHES["default"] | {"OPTIONS": {"MAX_ENTRIES": 10_000}}}
    exam = ExamFactory(security_level="medium")
    exam.proctors.add(proctor)
    students = UserFactory.create_batch(300, role="student")
    now = timezone.now()
    sessions = ExamSession.objects.bulk_create(
        ExamSession(student=s, exam=exam, attempt=1, started_at=now, deadline=now + timedelta(hours=1))
        for s in students
    )
    ProctoringEvent.objects.bulk_create(
        ProctoringEvent(session=s, type=t, severity="high", source="server", occurred_at=now)
        for s in sessions
        for t in ("multiple-faces", "speech-detected")
    )
    for s in sessions:
        stream(s, at=time.time())
    return sessions


def count_queries(call) -> int:
    with CaptureQueriesContext(connection) as queries:
        call()
    return len(queries)


def test_300_students_load_in_the_same_few_queries_as_one(
    client, proctor, world, crowded, django_assert_max_num_queries
):
    api = APIClient()
    api.force_authenticate(proctor)
    # Embedded mode has no beat: its staff reads first settle late departures, one query more
    # (proctoring.services.departures_settle_lazily), whatever the number of students.
    with django_assert_max_num_queries(4 if settings.SERVICES_MODE else 5):
        response = api.get("/api/exam-sessions/live")
    cards = response.json()["data"]
    assert len(cards) == 302  # the crowd, and Stu and Sam
    crowd = [card for card in cards if card["id"] in ids(*crowded)]
    assert len(crowd) == 300
    shown = {(card["openHighCount"], card["connection"], card["faceCount"]) for card in crowd}
    assert shown == {(2, "live", 1)}

    client.force_login(proctor)
    with django_assert_max_num_queries(8 if settings.SERVICES_MODE else 9):
        response = client.get(MONITOR)
    assert len(bootstrap(response)["cards"]) == 302

    # The same number with Pat's two students only: nothing is read per card.
    with_all = count_queries(lambda: client.get(MONITOR))
    ExamSession.objects.filter(pk__in=[s.pk for s in crowded]).update(status=ExamSession.Status.SUBMITTED)
    assert count_queries(lambda: client.get(MONITOR)) == with_all
