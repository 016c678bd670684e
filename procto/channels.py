"""Sending to channel-layer groups from synchronous code, once the transaction has committed.

Used by every app's realtime module: a message must not announce a row that may still roll
back, and a failed send must not undo the write (the database holds the truth; pages catch up).

In a web process the sends run on the server's own event loop (asgiref's async_to_sync finds
it). A Celery worker has none, and there async_to_sync starts a thread and an event loop for
every call, and channels_redis a Redis connection for every loop: 3.6 ms of CPU per send,
against 0.63 ms on a loop that lives as long as the process (bench/channel_sends.py). Workers
send a face count to the monitors about every ten seconds per student, so each worker process
keeps one loop, in a thread of its own (`send_on_worker_loop`, called from the workers'
process init).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

# How long a worker waits for its sends before it logs them as failed and goes on: Redis down
# must not hold the frame analysis behind it.
WORKER_SEND_SECONDS = 5.0


class _WorkerLoop:
    """One event loop per process, run by a daemon thread, started on first use."""

    def __init__(self) -> None:
        self.enabled = False
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            # A forked child inherits the object but not the thread: it starts its own.
            alive = self._thread is not None and self._thread.is_alive() and self._pid == os.getpid()
            if not alive:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="channel-layer-sends", daemon=True
                )
                self._thread.start()
                self._pid = os.getpid()
            return self._loop


_worker_loop = _WorkerLoop()


def send_on_worker_loop() -> None:
    """From now on this process sends on one long-lived event loop (Celery workers only: a web
    process's sends belong on its server's loop, where its consumers' in-memory layer lives)."""
    _worker_loop.enabled = True


def group_send_on_commit(groups: Iterable[str], message: dict, *, what: str) -> None:
    """After commit, send `message` to each group in one event loop; log (not raise) a failure."""
    groups = list(groups)

    async def send_all() -> None:
        layer = get_channel_layer()
        for group in groups:
            await layer.group_send(group, message)

    def send() -> None:
        try:
            if _worker_loop.enabled:
                future = asyncio.run_coroutine_threadsafe(send_all(), _worker_loop.loop())
                try:
                    future.result(timeout=WORKER_SEND_SECONDS)
                except TimeoutError:
                    future.cancel()
                    raise
            else:
                # One event loop for all groups.
                async_to_sync(send_all)()
        except Exception:
            logger.exception("could not send %s", what)

    transaction.on_commit(send)
