"""The exam page's stream socket, driven through the real ASGI application."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
import redis
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.cache import cache

from accounts import services as account_services
from procto.asgi import application
from proctoring.consumers import CLOSE_NOT_IN_PROGRESS
from proctoring.models import ProctoringEvent
from proctoring.stream_state import stream_stats, thumbnail_key
from proctoring.tests.media import audio_message, bundle_message, frame_message
from sessions import services as session_services
from sessions.realtime import student_notify

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://127.0.0.1:8000")


async def open_stream(user, session_id) -> WebsocketCommunicator:
    ticket = await database_sync_to_async(account_services.ws_ticket_issue)(user=user, login_id="t")
    communicator = WebsocketCommunicator(
        application, f"/ws/exam-sessions/{session_id}/stream/?ticket={ticket}", headers=[ORIGIN]
    )
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def reply(communicator) -> dict:
    return json.loads(await communicator.receive_from(timeout=5))


async def close_code(communicator) -> int:
    message = await communicator.receive_output(timeout=5)
    assert message["type"] == "websocket.close", message
    return message["code"]


async def test_hello_gets_the_cadence_of_the_exams_security_level(world):
    student = world.cat
    session = world.cat_in_chemistry  # medium security
    socket = await open_stream(student, session.pk)
    await socket.send_to(text_data=json.dumps({"type": "hello", "lastFrameSeq": 0, "lastAudioSeq": 0}))
    welcome = await reply(socket)
    assert welcome["type"] == "welcome"
    assert welcome["frameIntervalMs"] == 5000  # medium
    await socket.disconnect()


async def test_frames_and_audio_are_acknowledged_and_counted(world):
    student = world.cat
    session = world.cat_in_chemistry  # medium security
    socket = await open_stream(student, session.pk)
    await socket.send_to(bytes_data=frame_message(1))
    assert await reply(socket) == {"type": "ack", "kind": "frame", "seq": 1}
    await socket.send_to(bytes_data=audio_message(1))
    assert await reply(socket) == {"type": "ack", "kind": "audio", "seq": 1}
    stats = await database_sync_to_async(stream_stats)(session.pk)
    assert (stats["frame:count"], stats["audio:count"], stats["frame:last_seq"]) == (1, 1, 1)
    thumbnail = await database_sync_to_async(cache.get)(thumbnail_key(session.pk))
    assert thumbnail.startswith(b"\xff\xd8")
    await socket.disconnect()


async def test_a_bundle_is_acknowledged_in_one_message_and_every_part_counted(world):
    session = world.cat_in_chemistry  # medium security
    socket = await open_stream(world.cat, session.pk)
    await socket.send_to(bytes_data=bundle_message(audio_message(1), audio_message(2), frame_message(1)))
    assert await reply(socket) == {"type": "ack", "kind": "bundle", "frame": 1, "audio": [1, 2]}
    assert await socket.receive_nothing(timeout=0.2)
    stats = await database_sync_to_async(stream_stats)(session.pk)
    assert (stats["frame:count"], stats["audio:count"]) == (1, 2)
    assert (stats["frame:last_seq"], stats["audio:last_seq"]) == (1, 2)
    thumbnail = await database_sync_to_async(cache.get)(thumbnail_key(session.pk))
    assert thumbnail.startswith(b"\xff\xd8")
    await socket.disconnect()


async def test_a_bundle_with_a_bad_frame_keeps_its_audio_and_names_the_frame_it_refused(world):
    session = world.cat_in_chemistry
    socket = await open_stream(world.cat, session.pk)
    bad_frame = frame_message(7, jpeg=b"\x89PNG not a jpeg")
    await socket.send_to(bytes_data=bundle_message(audio_message(3), bad_frame))
    assert await reply(socket) == {"type": "ack", "kind": "bundle", "frame": None, "audio": [3]}
    error = await reply(socket)
    assert (error["type"], error["code"], error["seq"]) == ("error", "BAD_FRAME", 7)
    stats = await database_sync_to_async(stream_stats)(session.pk)
    assert (stats["frame:count"], stats["audio:count"]) == (None, 1)
    await socket.disconnect()


async def test_a_bundle_of_refused_parts_gets_their_errors_and_no_ack(world):
    session = world.cat_in_chemistry
    socket = await open_stream(world.cat, session.pk)
    await socket.send_to(
        bytes_data=bundle_message(audio_message(4, pcm=b"\x00\x01\x02"), frame_message(9, jpeg=b"GIF"))
    )
    replies = [await reply(socket), await reply(socket)]
    assert sorted((r["type"], r["code"], r["seq"]) for r in replies) == [
        ("error", "BAD_AUDIO", 4),
        ("error", "BAD_FRAME", 9),
    ]
    assert await socket.receive_nothing(timeout=0.2)
    await socket.disconnect()


async def test_audio_past_its_rate_limit_in_a_bundle_is_refused_by_seq_and_the_frame_kept(world):
    session = world.cat_in_chemistry
    socket = await open_stream(world.cat, session.pk)
    seq = 0
    for _ in range(3):  # 21 chunks in 10 s: within the limit of 25
        chunks = [audio_message(seq + k) for k in range(1, 8)]
        seq += 7
        await socket.send_to(bytes_data=bundle_message(*chunks))
        assert (await reply(socket))["kind"] == "bundle"
    await socket.send_to(
        bytes_data=bundle_message(*[audio_message(seq + k) for k in range(1, 7)], frame_message(1))
    )
    ack = await reply(socket)
    assert (ack["frame"], ack["audio"]) == (1, [22, 23, 24, 25])
    errors = [await reply(socket), await reply(socket)]
    assert [(e["code"], e["seq"]) for e in errors] == [("RATE_LIMITED", 26), ("RATE_LIMITED", 27)]
    await socket.disconnect()


async def test_a_broken_bundle_is_refused_whole_and_the_socket_goes_on(world):
    session = world.cat_in_chemistry
    socket = await open_stream(world.cat, session.pk)
    await socket.send_to(bytes_data=bundle_message(audio_message(1)) + b"trailing")
    error = await reply(socket)
    assert (error["type"], error["code"], error["seq"]) == ("error", "BAD_MESSAGE", None)
    stats = await database_sync_to_async(stream_stats)(session.pk)
    assert stats["audio:count"] is None
    await socket.send_to(bytes_data=bundle_message(audio_message(2), frame_message(1)))
    assert (await reply(socket))["kind"] == "bundle"
    await socket.disconnect()


async def test_a_resumed_socket_learns_where_the_server_is(world):
    student = world.cat
    session = world.cat_in_chemistry  # medium security
    socket = await open_stream(student, session.pk)
    for seq in (1, 2, 3):
        await socket.send_to(bytes_data=frame_message(seq))
        await reply(socket)
    await socket.disconnect()
    again = await open_stream(student, session.pk)
    await again.send_to(text_data=json.dumps({"type": "hello"}))
    assert (await reply(again))["lastFrameSeq"] == 3
    await again.disconnect()


@pytest.mark.parametrize(
    ("send", "code"),
    [
        ({"bytes_data": b"\x01\x00\x00"}, "BAD_MESSAGE"),
        ({"bytes_data": frame_message(1, jpeg=b"\x89PNG not a jpeg")}, "BAD_FRAME"),
        ({"text_data": "{not json"}, "BAD_MESSAGE"),
        ({"text_data": json.dumps({"type": "shout"})}, "BAD_MESSAGE"),
        (
            {"text_data": json.dumps({"type": "event", "seq": 1, "event": {"type": "identity-mismatch"}})},
            "BAD_MESSAGE",
        ),
        ({"text_data": "x" * 9000}, "BAD_MESSAGE"),
        (
            {"text_data": json.dumps({"type": "event", "seq": 2**70, "event": {"type": "tab-switch"}})},
            "BAD_MESSAGE",
        ),
    ],
    ids=["short", "png", "json", "type", "forged-event", "huge", "seq-past-64-bits"],
)
async def test_bad_input_gets_an_error_and_the_socket_stays_open(world, send, code):
    student = world.cat
    session = world.cat_in_chemistry  # medium security
    socket = await open_stream(student, session.pk)
    await socket.send_to(**send)
    error = await reply(socket)
    assert (error["type"], error["code"]) == ("error", code)
    await socket.send_to(bytes_data=frame_message(5))
    assert (await reply(socket))["type"] == "ack"
    await socket.disconnect()


async def test_a_browser_event_is_stored_once_even_when_resent(world):
    student = world.cat
    session = world.cat_in_chemistry  # medium security
    socket = await open_stream(student, session.pk)
    event = {
        "type": "event",
        "seq": 4,
        "event": {"type": "tab-switch", "severity": "medium", "details": {"durationMs": 3000}},
    }
    for _ in range(2):  # the page re-sends an event it got no ack for
        await socket.send_to(text_data=json.dumps(event))
        assert await reply(socket) == {"type": "event-ack", "seq": 4}
    events = await database_sync_to_async(list)(ProctoringEvent.objects.filter(session=session))
    assert [(e.type, e.details) for e in events] == [("tab-switch", {"durationMs": 3000})]
    await socket.disconnect()


def event_text(seq: int, details: str) -> str:
    # Raw text: the tokens under test (1e400, NaN, a surrogate's escape) are what a hostile page sends.
    return f'{{"type": "event", "seq": {seq}, "event": {{"type": "tab-switch", "details": {details}}}}}'


@pytest.mark.parametrize(
    ("details", "problem"),
    [
        ('{"x": 1e400}', "event.details.x: Must be a finite number"),
        ('{"x": NaN}', "event.details.x: Must be a finite number"),
        ('{"x": -Infinity}', "event.details.x: Must be a finite number"),
        ('{"x": "a\\udc00b"}', "event.details.x: Must be Unicode text"),
        ('{"x": "a\\u0000b"}', "event.details.x: Must not contain NUL"),
    ],
    ids=["1e400", "NaN", "-Infinity", "lone-surrogate", "NUL"],
)
async def test_an_event_with_unstorable_details_is_refused_by_its_seq_and_the_socket_goes_on(
    world, details, problem
):
    student = world.cat
    session = world.cat_in_chemistry  # medium security
    socket = await open_stream(student, session.pk)
    await socket.send_to(text_data=event_text(9, details))
    error = await reply(socket)
    # Its seq tells the page to drop the event rather than send it again after every reconnect.
    assert (error["type"], error["code"], error["seq"]) == ("error", "BAD_MESSAGE", 9)
    assert error["message"].startswith(problem)
    await socket.send_to(text_data=event_text(10, '{"x": 1.5}'))
    assert await reply(socket) == {"type": "event-ack", "seq": 10}
    stored = await database_sync_to_async(list)(ProctoringEvent.objects.values_list("client_seq", flat=True))
    assert stored == [10]
    await socket.disconnect()


async def test_an_event_nested_a_thousand_levels_deep_is_refused_and_the_socket_goes_on(world):
    socket = await open_stream(world.cat, world.cat_in_chemistry.pk)
    await socket.send_to(text_data=event_text(9, "[" * 1000 + "]" * 1000))
    error = await reply(socket)
    assert (error["type"], error["code"]) == ("error", "BAD_MESSAGE")
    assert "nested more than 64 levels" in error["message"]
    await socket.send_to(text_data=json.dumps({"type": "heartbeat"}))
    assert await reply(socket) == {"type": "heartbeat-ack"}
    await socket.disconnect()


async def test_flooding_frames_is_rate_limited_not_fatal(world):
    student = world.cat
    session = world.cat_in_chemistry  # medium security
    socket = await open_stream(student, session.pk)
    replies = []
    for seq in range(1, 26):
        await socket.send_to(bytes_data=frame_message(seq))
        message = await reply(socket)
        while message["type"] == "slow-down":  # frames pile up when no worker runs: expected
            message = await reply(socket)
        replies.append(message)
    assert [r["type"] for r in replies[:20]] == ["ack"] * 20
    assert {r.get("code") for r in replies[20:]} == {"RATE_LIMITED"}
    await socket.disconnect()


async def test_another_students_session_is_refused_with_4403(world):
    socket = await open_stream(world.sam, world.cat_in_chemistry.pk)
    assert await close_code(socket) == 4403


async def test_a_finished_session_is_closed_with_4409(world):
    student = world.cat
    session = world.cat_in_chemistry  # medium security
    await database_sync_to_async(session_services.exam_session_submit)(session_id=session.pk, student=student)
    socket = await open_stream(student, session.pk)
    assert await close_code(socket) == CLOSE_NOT_IN_PROGRESS


async def test_a_proctors_warning_reaches_the_page(world):
    student = world.cat
    session = world.cat_in_chemistry  # medium security
    socket = await open_stream(student, session.pk)
    await database_sync_to_async(student_notify)(
        session.pk, {"type": "warning", "message": "Eyes on your screen", "from": "proctor"}
    )
    assert await reply(socket) == {"type": "warning", "message": "Eyes on your screen", "from": "proctor"}
    await socket.disconnect()


async def channel_layer_forgets_its_groups() -> None:
    """What a Redis restart does to the channel layer: every group membership is gone, while the
    sockets stay open (each daphne's receive loop reconnects)."""
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        layer.groups = {}
        return

    def forget() -> None:
        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter(match=f"{layer.prefix}:group:*"))
        assert keys, "no group to forget: the test would prove nothing"
        client.delete(*keys)

    await asyncio.to_thread(forget)


async def test_a_heartbeat_after_the_channel_layer_forgot_its_groups_lets_warnings_through_again(world):
    student = world.cat
    session = world.cat_in_chemistry  # medium security
    socket = await open_stream(student, session.pk)
    await channel_layer_forgets_its_groups()
    await socket.send_to(text_data=json.dumps({"type": "heartbeat"}))  # every 10 s from the page
    assert await reply(socket) == {"type": "heartbeat-ack"}
    await database_sync_to_async(student_notify)(
        session.pk, {"type": "warning", "message": "Eyes on your screen", "from": "proctor"}
    )
    assert await reply(socket) == {"type": "warning", "message": "Eyes on your screen", "from": "proctor"}
    await socket.disconnect()


async def test_termination_ends_the_page_with_the_reason(world):
    student = world.cat
    session = world.cat_in_chemistry  # medium security
    socket = await open_stream(student, session.pk)
    await database_sync_to_async(session_services.exam_session_terminate)(
        session_id=session.pk, actor=world.tess, reason="Phone in hand"
    )
    message = await reply(socket)
    assert message == {"type": "terminated", "reason": "Phone in hand"}
    assert await close_code(socket) == CLOSE_NOT_IN_PROGRESS


async def test_submitting_in_another_tab_ends_this_page(world):
    student = world.cat
    session = world.cat_in_chemistry  # medium security
    socket = await open_stream(student, session.pk)
    await database_sync_to_async(session_services.exam_session_submit)(session_id=session.pk, student=student)
    assert await reply(socket) == {"type": "ended", "status": "submitted"}
    assert await close_code(socket) == CLOSE_NOT_IN_PROGRESS


async def test_a_frame_stamped_past_the_year_9999_is_analysed_at_arrival_time(world):
    student = world.cat
    session = world.cat_in_chemistry  # medium security
    from proctoring.stream import FRAME, HEADER
    from proctoring.tests.media import webcam_jpeg

    socket = await open_stream(student, session.pk)
    await socket.send_to(bytes_data=HEADER.pack(FRAME, 1, 2**64 - 1) + webcam_jpeg())
    assert (await reply(socket))["type"] == "ack"  # the socket and (in this mode) the task live on
    await socket.send_to(bytes_data=frame_message(2))
    assert (await reply(socket))["type"] == "ack"
    await socket.disconnect()


@pytest.mark.needs_redis
async def test_frames_and_audio_are_acknowledged_while_the_loops_thread_pool_is_full(world):
    """Media costs the socket's event loop one Redis round trip and no thread (issue 15): each
    frame and second of audio used to wait for a thread of the loop's pool, and at 300 students
    the hops and blocking publishes were most of daphne's work."""
    from concurrent.futures import ThreadPoolExecutor

    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
    student, session = world.cat, world.cat_in_chemistry
    ticket = await sync_to_async(account_services.ws_ticket_issue, thread_sensitive=False)(
        user=student, login_id="t"
    )
    socket = WebsocketCommunicator(
        application, f"/ws/exam-sessions/{session.pk}/stream/?ticket={ticket}", headers=[ORIGIN]
    )
    connected, _ = await socket.connect(timeout=3)
    assert connected
    await socket.send_to(text_data=json.dumps({"type": "hello", "lastFrameSeq": 0, "lastAudioSeq": 0}))
    assert (await reply(socket))["type"] == "welcome"
    release = threading.Event()
    busy = loop.run_in_executor(None, release.wait, 30)
    try:
        await socket.send_to(bytes_data=frame_message(1))
        assert await reply(socket) == {"type": "ack", "kind": "frame", "seq": 1}
        await socket.send_to(bytes_data=audio_message(1))
        assert await reply(socket) == {"type": "ack", "kind": "audio", "seq": 1}
        assert not busy.done()  # the pool's one thread was taken all along
        stats = stream_stats(session.pk)
        assert (stats["frame:last_seq"], stats["audio:last_seq"]) == (1, 1)
    finally:
        release.set()
        await busy
    await socket.disconnect()


async def test_a_socket_opens_and_is_answered_while_the_process_sync_thread_is_busy(world):
    """Sockets get no thread of their own for synchronous code (HTTP requests do): when the
    process's one sync thread was busy, every handshake and message waited for it, and a class
    reconnecting to a surviving node finished together, 10 s later (docs/RELIABILITY.md)."""
    student, session = world.cat, world.cat_in_chemistry
    release = threading.Event()
    busy = asyncio.create_task(sync_to_async(release.wait, thread_sensitive=True)(30))
    try:
        ticket = await sync_to_async(account_services.ws_ticket_issue, thread_sensitive=False)(
            user=student, login_id="t"
        )
        socket = WebsocketCommunicator(
            application, f"/ws/exam-sessions/{session.pk}/stream/?ticket={ticket}", headers=[ORIGIN]
        )
        connected, _ = await socket.connect(timeout=3)
        assert connected
        await socket.send_to(text_data=json.dumps({"type": "hello", "lastFrameSeq": 0, "lastAudioSeq": 0}))
        assert (await reply(socket))["type"] == "welcome"
        await socket.send_to(bytes_data=frame_message(1))
        assert await reply(socket) == {"type": "ack", "kind": "frame", "seq": 1}
        event = {"type": "event", "seq": 1, "event": {"type": "tab-switch", "severity": "high"}}
        await socket.send_to(text_data=json.dumps(event))
        assert await reply(socket) == {"type": "event-ack", "seq": 1}
        assert not busy.done()  # all of it while the thread was still taken
        await socket.disconnect()
    finally:
        release.set()
        await busy
