"""A WebSocket that answers pings through the channel layer: the pre-exam connectivity check.

The reply goes consumer -> channel layer -> consumer, so a pong proves the socket, the layer
(Redis in services mode) and the path back all work, and its timing is the real round trip a
frame's alert would take. The consumer also joins a group, the path Celery workers use to reach
sockets, so a message sent to that group from any process arrives as a `notice`.
"""

from __future__ import annotations

import json
import logging
import time

from accounts.ws_auth import AuthenticatedConsumer
from procto import strict_json

logger = logging.getLogger(__name__)

CHECK_GROUP = "connectivity-check"
MAX_MESSAGE_BYTES = 1024


class BadMessage(ValueError):
    """A client message this socket cannot act on; the text is sent back to the client."""


def parse_ping(text_data: str | None) -> dict:
    if text_data is None or len(text_data) > MAX_MESSAGE_BYTES:
        raise BadMessage("expected a text message of at most 1 KiB")
    try:
        message = strict_json.loads(text_data)
    except strict_json.RejectedJSON as exc:
        # A lone surrogate in the id, echoed, would crash the Redis layer's encoding of the pong.
        raise BadMessage(exc.message) from exc
    if not isinstance(message, dict) or message.get("type") != "ping":
        raise BadMessage('expected {"type": "ping", "id": ...}')
    if not isinstance(message.get("id"), (int, str)) or len(str(message["id"])) > 64:
        raise BadMessage("ping id must be a number or a string of at most 64 characters")
    return message


class ConnectivityCheckConsumer(AuthenticatedConsumer):
    async def on_authenticated(self) -> None:
        await self.channel_layer.group_add(CHECK_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(CHECK_GROUP, self.channel_name)
        await super().disconnect(code)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = parse_ping(text_data)
        except BadMessage as exc:
            logger.info("connectivity check rejected a message: %s", exc)
            await self.send(json.dumps({"type": "error", "message": str(exc)}))
            return
        await self.channel_layer.send(
            self.channel_name,
            {"type": "check.pong", "id": message.get("id"), "received_at": time.time()},
        )

    async def check_pong(self, event: dict) -> None:
        await self.send(
            json.dumps(
                {
                    "type": "pong",
                    "id": event["id"],
                    "serverTime": event["received_at"],
                    "layerMs": round((time.time() - event["received_at"]) * 1000, 3),
                }
            )
        )

    async def check_notice(self, event: dict) -> None:
        await self.send(json.dumps({"type": "notice", "message": event["message"]}))
