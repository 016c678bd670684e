"""WebSocket routes: a path no consumer serves is refused quietly, not answered with a 500."""

from __future__ import annotations

import logging

import pytest
from channels.testing import WebsocketCommunicator

from procto.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


@pytest.mark.parametrize("path", ["/ws/nope/", "/ws/", "/favicon.ico", "/ws/monitor/extra/segments/"])
async def test_an_unknown_websocket_path_is_refused_in_the_handshake_with_one_log_line(path, caplog):
    caplog.set_level(logging.INFO)
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN])
    connected, _ = await communicator.connect(timeout=5)
    assert not connected
    assert not [record for record in caplog.records if record.exc_info]
    assert [record.getMessage() for record in caplog.records] == [f"websocket {path!r} refused: no such path"]
