"""The connectivity-check socket, driven through the real ASGI application in-process."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from accounts import services
from procto.asgi import application
from sessions.consumers import CHECK_GROUP

ALLOWED_ORIGIN = (b"origin", b"http://127.0.0.1:8000")
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def connect(student):
    async def open_check_socket() -> WebsocketCommunicator:
        ticket = await database_sync_to_async(services.ws_ticket_issue)(user=student, login_id="test")
        communicator = WebsocketCommunicator(
            application, f"/ws/check/?ticket={ticket}", headers=[ALLOWED_ORIGIN]
        )
        connected, _ = await communicator.connect()
        assert connected
        return communicator

    return open_check_socket


async def test_ping_is_answered_through_the_channel_layer(connect):
    communicator = await connect()
    await communicator.send_to(text_data=json.dumps({"type": "ping", "id": 7}))
    reply = json.loads(await communicator.receive_from(timeout=3))
    assert reply["type"] == "pong"
    assert reply["id"] == 7
    assert reply["layerMs"] >= 0
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"type": "shout"}), "expected"),
        (json.dumps({"type": "ping", "id": {"nested": 1}}), "ping id"),
        (json.dumps({"type": "ping", "id": "x" * 2000}), "at most 1 KiB"),
        # Echoed in the pong, a lone surrogate crashed the Redis layer's encoding (close 1011).
        (json.dumps({"type": "ping", "id": "\udc00"}), "id: Must be Unicode text"),
        (json.dumps({"type": "ping", "id": float("nan")}), "id: Must be a finite number"),
    ],
    ids=["json", "type", "id-object", "huge", "lone-surrogate", "NaN"],
)
async def test_bad_messages_get_an_error_and_the_socket_keeps_working(connect, payload, error):
    communicator = await connect()
    await communicator.send_to(text_data=payload)
    reply = json.loads(await communicator.receive_from(timeout=3))
    assert reply["type"] == "error"
    assert error in reply["message"]

    await communicator.send_to(text_data=json.dumps({"type": "ping", "id": "after"}))
    assert json.loads(await communicator.receive_from(timeout=3))["id"] == "after"
    await communicator.disconnect()


async def test_binary_messages_are_refused_politely(connect):
    communicator = await connect()
    await communicator.send_to(bytes_data=b"\x00\x01")
    reply = json.loads(await communicator.receive_from(timeout=3))
    assert reply["type"] == "error"
    await communicator.disconnect()


async def test_group_messages_reach_the_socket_as_notices(connect):
    communicator = await connect()
    await get_channel_layer().group_send(
        CHECK_GROUP, {"type": "check.notice", "message": "maintenance at noon"}
    )
    reply = json.loads(await communicator.receive_from(timeout=3))
    assert reply == {"type": "notice", "message": "maintenance at noon"}
    await communicator.disconnect()
