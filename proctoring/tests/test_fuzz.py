"""Fuzzed frames, audio and text never crash the stream consumer or the analysis code."""

from __future__ import annotations

import json
import struct
import time

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import services as account_services
from procto.asgi import application
from proctoring import pipeline
from proctoring.stream import HEADER
from proctoring.tests.media import frame_message
from sessions.tests.factories import ExamSessionFactory

pytestmark = pytest.mark.django_db(transaction=True)
FUZZ = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

messages = st.one_of(
    st.binary(min_size=1, max_size=600).map(lambda b: {"bytes_data": b}),
    st.tuples(st.integers(0, 3), st.integers(0, 2**32 - 1), st.binary(max_size=400)).map(
        lambda t: {"bytes_data": HEADER.pack(t[0], t[1], int(time.time() * 1000)) + b"\xff\xd8\xff" + t[2]}
    ),
    st.text(min_size=1, max_size=300).map(lambda t: {"text_data": t}),
    st.dictionaries(
        st.sampled_from(["type", "seq", "event", "lastFrameSeq"]),
        st.none() | st.integers() | st.text(max_size=20),
    ).map(lambda d: {"text_data": json.dumps(d)}),
)


@FUZZ
@given(batch=st.lists(messages, min_size=1, max_size=12))
def test_the_stream_socket_survives_any_messages_and_still_accepts_a_good_frame(student, batch):
    session = ExamSessionFactory(student=student)

    async def scenario() -> None:
        ticket = await database_sync_to_async(account_services.ws_ticket_issue)(user=student, login_id="f")
        socket = WebsocketCommunicator(
            application,
            f"/ws/exam-sessions/{session.pk}/stream/?ticket={ticket}",
            headers=[(b"origin", b"http://127.0.0.1:8000")],
        )
        assert (await socket.connect(timeout=5))[0]
        for message in batch:
            await socket.send_to(**message)
        await socket.send_to(bytes_data=frame_message(2**31))
        seen = []
        while not any(m.get("type") == "ack" and m.get("seq") == 2**31 for m in seen):
            output = await socket.receive_output(timeout=10)
            assert output["type"] == "websocket.send", f"socket closed: {output}"
            seen.append(json.loads(output["text"]))
        await socket.disconnect()

    async_to_sync(scenario)()


@FUZZ
@given(data=st.binary(max_size=4096))
def test_the_frame_analysis_treats_any_bytes_as_unreadable_or_a_frame(student, data):
    session = ExamSessionFactory(student=student)
    result = pipeline.frame_analyse(
        session_id=session.pk, seq=1, captured_ms=int(time.time() * 1000), jpeg=data
    )
    assert result in {"unreadable", "done"}


@FUZZ
@given(samples=st.lists(st.integers(-32768, 32767), max_size=16_000), odd=st.booleans())
def test_the_audio_analysis_handles_any_samples(student, samples, odd):
    session = ExamSessionFactory(student=student)
    pcm = struct.pack(f"<{len(samples)}h", *samples) + (b"\x00" if odd else b"")
    result = pipeline.audio_analyse(
        session_id=session.pk, seq=1, captured_ms=int(time.time() * 1000), pcm=pcm
    )
    assert result in {"unreadable", "done"}
