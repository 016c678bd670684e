"""Sending to channel-layer groups from synchronous code, once the transaction has committed.

Used by every app's realtime module: a message must not announce a row that may still roll
back, and a failed send must not undo the write (the database holds the truth; pages catch up).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def group_send_on_commit(groups: Iterable[str], message: dict, *, what: str) -> None:
    """After commit, send `message` to each group in one event loop; log (not raise) a failure."""
    groups = list(groups)

    async def send_all() -> None:
        layer = get_channel_layer()
        for group in groups:
            await layer.group_send(group, message)

    def send() -> None:
        # One event loop for all groups: from a sync worker each async_to_sync call starts a
        # loop, and channels_redis opens a Redis connection per loop.
        try:
            async_to_sync(send_all)()
        except Exception:
            logger.exception("could not send %s", what)

    transaction.on_commit(send)
