"""The sessions app's only use of the channel layer: telling a student's exam page about its
session (ended elsewhere, terminated, a proctor's warning)."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def session_group(session_id) -> str:
    return f"exam-session.{session_id}"


def student_notify(session_id, message: dict) -> None:
    """After commit, send `message` (a protocol message: type, ...) to the session's exam page."""

    def send() -> None:
        try:
            async_to_sync(get_channel_layer().group_send)(
                session_group(session_id), {"type": "session.notify", "message": message}
            )
        except Exception:  # the database holds the truth; the page re-reads it on reconnect
            logger.exception("could not notify session %s", session_id)

    transaction.on_commit(send)
