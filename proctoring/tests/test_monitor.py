"""The proctors' monitor socket: live alerts of the exams one watches, and catch-up after a gap."""

from __future__ import annotations

import json
import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from accounts import services as account_services
from exams.tests.factories import ExamFactory
from procto.asgi import application
from proctoring import pipeline
from proctoring.services import event_record_client
from proctoring.tests.test_consumers import channel_layer_forgets_its_groups
from sessions.tests.factories import ExamSessionFactory

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://127.0.0.1:8000")


@pytest.fixture
def watched(student, proctor):
    exam = ExamFactory()
    exam.proctors.add(proctor)
    return ExamSessionFactory(student=student, exam=exam)


@pytest.fixture
def unwatched(other_student):
    return ExamSessionFactory(student=other_student)


async def open_monitor(user, query: str = "") -> WebsocketCommunicator:
    ticket = await database_sync_to_async(account_services.ws_ticket_issue)(user=user, login_id="m")
    socket = WebsocketCommunicator(application, f"/ws/monitor/?ticket={ticket}{query}", headers=[ORIGIN])
    connected, _ = await socket.connect(timeout=5)
    assert connected
    return socket


def log(session, student, type_="tab-switch"):
    return event_record_client(session_id=session.pk, student=student, type=type_, severity="high")


async def test_a_proctor_gets_alerts_of_the_exams_assigned_to_them_only(
    proctor, student, other_student, watched, unwatched
):
    socket = await open_monitor(proctor)
    await database_sync_to_async(log)(unwatched, other_student)
    await database_sync_to_async(log)(watched, student, "paste")
    message = json.loads(await socket.receive_from(timeout=5))
    assert message["type"] == "alert"
    assert (message["event"]["type"], message["event"]["sessionId"]) == ("paste", str(watched.pk))
    # ... then the risk that alert raised, of the same session; nothing of the unwatched one.
    message = json.loads(await socket.receive_from(timeout=5))
    assert (message["type"], message["session"]["id"]) == ("session", str(watched.pk))
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


async def test_the_monitors_next_since_after_the_channel_layer_forgot_its_groups_lets_alerts_through(
    proctor, student, watched
):
    socket = await open_monitor(proctor)
    await channel_layer_forgets_its_groups()
    # The page sends `since` on every open, after a quiet spell and every 30 s.
    await socket.send_to(text_data=json.dumps({"type": "since", "lastEventId": 0}))
    assert json.loads(await socket.receive_from(timeout=5))["type"] == "catch-up"
    await database_sync_to_async(log)(watched, student, "paste")
    message = json.loads(await socket.receive_from(timeout=5))
    assert (message["type"], message["event"]["type"]) == ("alert", "paste")
    await socket.disconnect()


async def test_an_admin_watches_every_exam(admin_user, other_student, unwatched):
    socket = await open_monitor(admin_user)
    await database_sync_to_async(log)(unwatched, other_student)
    assert json.loads(await socket.receive_from(timeout=5))["type"] == "alert"
    await socket.disconnect()


async def test_a_student_cannot_open_the_monitor(student):
    socket = await open_monitor(student)
    message = await socket.receive_output(timeout=5)
    assert (message["type"], message["code"]) == ("websocket.close", 4403)


async def test_a_proctor_cannot_watch_an_exam_not_assigned(proctor, unwatched):
    socket = await open_monitor(proctor, f"&exam={unwatched.exam_id}")
    assert (await socket.receive_output(timeout=5))["code"] == 4403


async def test_after_a_gap_the_page_catches_up_on_missed_alerts(proctor, student, watched):
    first = await database_sync_to_async(log)(watched, student, "copy")
    await database_sync_to_async(log)(watched, student, "paste")  # sent while the page was away
    socket = await open_monitor(proctor)
    await socket.send_to(text_data=json.dumps({"type": "since", "lastEventId": first.pk}))
    reply = json.loads(await socket.receive_from(timeout=5))
    assert reply["type"] == "catch-up"
    assert [e["type"] for e in reply["events"]] == ["paste"]
    await socket.disconnect()


async def test_each_analysed_frame_updates_the_monitors_thumbnail(
    proctor, student, watched, client, settings, tmp_path
):
    from proctoring.media import media_received
    from proctoring.tests.media import webcam_jpeg

    settings.MEDIA_ROOT = tmp_path
    socket = await open_monitor(proctor)
    jpeg = webcam_jpeg()
    await database_sync_to_async(media_received)(
        session_id=watched.pk, kind="frame", seq=1, captured_ms=int(time.time() * 1000), payload=jpeg
    )
    if not settings.CELERY_TASK_ALWAYS_EAGER:  # services mode queued it; analyse it here instead
        await database_sync_to_async(pipeline.frame_analyse)(
            session_id=watched.pk, seq=1, captured_ms=int(time.time() * 1000), jpeg=jpeg
        )
    message = json.loads(await socket.receive_from(timeout=10))
    while message["type"] != "media":
        message = json.loads(await socket.receive_from(timeout=10))
    assert message["session"]["faceCount"] == 1
    url = message["session"]["thumbnailUrl"]
    await database_sync_to_async(client.force_login)(proctor)
    response = await database_sync_to_async(client.get)(url)
    assert response.status_code == 200 and response.content.startswith(b"\xff\xd8")
    await database_sync_to_async(client.force_login)(student)
    assert (await database_sync_to_async(client.get)(url)).status_code == 404
    await socket.disconnect()


async def test_a_since_past_any_id_is_answered_with_an_error_not_a_crash(proctor, watched):
    socket = await open_monitor(proctor)
    await socket.send_to(text_data='{"type": "since", "lastEventId": 1e400}')  # JSON's infinity
    assert json.loads(await socket.receive_from(timeout=5))["type"] == "error"
    await socket.send_to(text_data='{"type": "since", "lastEventId": 0}')  # and the socket goes on
    assert json.loads(await socket.receive_from(timeout=5))["type"] == "catch-up"
    await socket.disconnect()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[" * 1000 + "]" * 1000, "nested more than 64 levels"),
        ('{"type": "since", "lastEventId": ' + "[" * 1000 + "]" * 1000 + "}", "nested more than 64 levels"),
        ('{"type": "since\\udc00", "lastEventId": 0}', "type: Must be Unicode text"),
        ('{"type": "since", "lastEventId": NaN}', "lastEventId: Must be a finite number"),
        ('{"type": "since", "lastEventId": 0, "pad": "' + "x" * 2_000_000 + '"}', "at most 4096 bytes"),
    ],
    ids=["deep-list", "deep-id", "lone-surrogate", "NaN", "oversized"],
)
async def test_a_message_the_monitor_cannot_read_is_answered_with_why_not_a_crash(
    proctor, watched, text, problem
):
    socket = await open_monitor(proctor)
    await socket.send_to(text_data=text)
    error = json.loads(await socket.receive_from(timeout=5))
    assert (error["type"], error["code"]) == ("error", "BAD_MESSAGE")
    assert problem in error["message"]
    await socket.send_to(text_data='{"type": "since", "lastEventId": 0}')  # and the socket goes on
    assert json.loads(await socket.receive_from(timeout=5))["type"] == "catch-up"
    await socket.disconnect()


async def test_an_admin_filtering_on_an_impossible_exam_id_catches_up_on_nothing(admin_user):
    socket = await open_monitor(admin_user, "&exam=" + "9" * 30)
    await socket.send_to(text_data='{"type": "since", "lastEventId": 0}')
    assert json.loads(await socket.receive_from(timeout=5)) == {"type": "catch-up", "events": []}
    await socket.disconnect()


# --- the socket follows the user's assignments while it is open -----------------------------------


async def test_a_proctor_removed_from_an_exam_stops_getting_its_alerts_at_once(proctor, student, watched):
    other_exam = await database_sync_to_async(ExamFactory)()
    await database_sync_to_async(other_exam.proctors.add)(proctor)
    other_session = await database_sync_to_async(ExamSessionFactory)(exam=other_exam)
    socket = await open_monitor(proctor)

    await database_sync_to_async(watched.exam.proctors.remove)(proctor)
    assert json.loads(await socket.receive_from(timeout=5)) == {"type": "scope"}
    await database_sync_to_async(log)(watched, student, "paste")  # no longer theirs
    await database_sync_to_async(log)(other_session, other_session.student, "copy")
    message = json.loads(await socket.receive_from(timeout=5))
    assert (message["type"], message["event"]["type"]) == ("alert", "copy")
    message = json.loads(await socket.receive_from(timeout=5))  # the risk that alert raised
    assert (message["type"], message["session"]["id"]) == ("session", str(other_session.pk))
    assert await socket.receive_nothing(timeout=0.3)
    # Catch-up follows the new scope too.
    await socket.send_to(text_data='{"type": "since", "lastEventId": 0}')
    caught_up = json.loads(await socket.receive_from(timeout=5))["events"]
    assert [e["type"] for e in caught_up] == ["copy"]
    await socket.disconnect()


async def test_a_proctor_assigned_while_watching_gets_the_new_exams_alerts(proctor, student, watched):
    socket = await open_monitor(proctor)
    other_exam = await database_sync_to_async(ExamFactory)()
    other_session = await database_sync_to_async(ExamSessionFactory)(exam=other_exam)

    # From the user's side of the relation, as the admin's user form would do it.
    await database_sync_to_async(proctor.proctored_exams.add)(other_exam)
    assert json.loads(await socket.receive_from(timeout=5)) == {"type": "scope"}
    await database_sync_to_async(log)(other_session, other_session.student, "copy")
    message = json.loads(await socket.receive_from(timeout=5))
    assert (message["type"], message["event"]["sessionId"]) == ("alert", str(other_session.pk))
    await socket.disconnect()


async def test_a_proctor_left_with_no_exam_is_closed_with_4403(proctor, watched):
    socket = await open_monitor(proctor)
    await database_sync_to_async(watched.exam.proctors.clear)()
    message = await socket.receive_output(timeout=5)
    assert (message["type"], message["code"]) == ("websocket.close", 4403)


async def test_a_proctor_made_a_student_is_closed_with_4403(proctor, watched):
    socket = await open_monitor(proctor)

    def demote():
        proctor.role = "student"
        proctor.save()

    await database_sync_to_async(demote)()
    message = await socket.receive_output(timeout=5)
    assert (message["type"], message["code"]) == ("websocket.close", 4403)


async def test_other_proctors_and_sockets_are_not_disturbed(proctor, student, watched):
    from accounts.tests.factories import UserFactory

    colleague = await database_sync_to_async(UserFactory)(email="colleague@school.example", role="proctor")
    await database_sync_to_async(watched.exam.proctors.add)(colleague)
    socket = await open_monitor(colleague)
    await database_sync_to_async(watched.exam.proctors.remove)(proctor)
    assert await socket.receive_nothing(timeout=0.5)
    await database_sync_to_async(log)(watched, student, "paste")
    assert json.loads(await socket.receive_from(timeout=5))["type"] == "alert"
    await socket.disconnect()


async def test_a_removal_while_the_socket_connects_is_not_missed(proctor, student, watched, monkeypatch):
    from proctoring import consumers

    read_scope = consumers._watched_exam_ids

    async def scope_then_removal(*args, **kwargs):
        ids = await read_scope(*args, **kwargs)
        await database_sync_to_async(watched.exam.proctors.remove)(proctor)  # lands right after the read
        return ids

    monkeypatch.setattr(consumers, "_watched_exam_ids", scope_then_removal)
    socket = await open_monitor(proctor)
    monkeypatch.setattr(consumers, "_watched_exam_ids", read_scope)
    # The change reached the socket although it came before the socket joined the exam's group:
    # with nothing left to watch, it closes.
    message = await socket.receive_output(timeout=5)
    assert (message["type"], message.get("code")) == ("websocket.close", 4403)
