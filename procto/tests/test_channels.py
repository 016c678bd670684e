"""A worker's sends to the monitors: they arrive, share one event loop, and a failure is logged,
not raised (procto/channels.py)."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django import db

from procto import channels

pytestmark = [pytest.mark.needs_redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_process(monkeypatch: pytest.MonkeyPatch) -> channels._WorkerLoop:
    """This process sends as a Celery worker does, on a loop of its own, stopped afterwards."""
    loop = channels._WorkerLoop()
    monkeypatch.setattr(channels, "_worker_loop", loop)
    channels.send_on_worker_loop()
    yield loop
    if loop._loop is not None:
        loop._loop.call_soon_threadsafe(loop._loop.stop)
        loop._thread.join(timeout=5)


def _send_from_a_worker_thread(groups: list[str], message: dict) -> None:
    # A Celery task runs in a thread with no event loop: send as it would.
    def task() -> None:
        try:
            channels.group_send_on_commit(groups, message, what="test")
        finally:
            db.connection.close()

    thread = threading.Thread(target=task)
    thread.start()
    thread.join(timeout=10)


async def test_a_worker_s_sends_reach_the_group_on_one_loop_for_the_whole_process(worker_process) -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("test-worker-sends", channel)
    try:
        for n in range(3):
            await sync_to_async(_send_from_a_worker_thread)(
                ["test-worker-sends"], {"type": "face.count", "n": n}
            )
        received = [await asyncio.wait_for(layer.receive(channel), timeout=5) for _ in range(3)]
        assert [m["n"] for m in received] == [0, 1, 2]
        senders = [t for t in threading.enumerate() if t.name == "channel-layer-sends"]
        assert senders == [worker_process._thread]
    finally:
        await layer.group_discard("test-worker-sends", channel)


async def test_a_send_that_fails_is_logged_and_the_caller_goes_on(worker_process, caplog) -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("test-worker-fails", channel)
    try:
        # A set cannot be serialised by the layer: the send fails inside the worker's loop.
        with caplog.at_level(logging.ERROR, logger="procto.channels"):
            await sync_to_async(_send_from_a_worker_thread)(
                ["test-worker-fails"], {"type": "x", "bad": {1, 2}}
            )
        assert "could not send test" in caplog.text
        # The loop outlives the failure and carries the next send.
        await sync_to_async(_send_from_a_worker_thread)(["test-worker-fails"], {"type": "x", "n": 1})
        assert (await asyncio.wait_for(layer.receive(channel), timeout=5))["n"] == 1
    finally:
        await layer.group_discard("test-worker-fails", channel)


def test_a_forked_child_starts_its_own_loop(worker_process, monkeypatch: pytest.MonkeyPatch) -> None:
    first = worker_process.loop()
    assert worker_process.loop() is first
    monkeypatch.setattr(channels.os, "getpid", lambda: -1)  # as after a fork: another process
    second = worker_process.loop()
    assert second is not first and worker_process._thread.is_alive()
    first.call_soon_threadsafe(first.stop)


def test_a_send_redis_does_not_answer_is_given_up_and_the_worker_goes_on(
    worker_process, monkeypatch, caplog
) -> None:
    import time

    layer = get_channel_layer()

    async def unanswered(group, message):
        await asyncio.sleep(30)

    monkeypatch.setattr(layer, "group_send", unanswered)
    monkeypatch.setattr(channels, "WORKER_SEND_SECONDS", 0.2)
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="procto.channels"):
        channels.group_send_on_commit(["test-worker-slow"], {"type": "x"}, what="a slow send")
    assert time.monotonic() - started < 2
    assert "could not send a slow send" in caplog.text
