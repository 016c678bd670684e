"""Frames go to the workers in batches: one task per web process per window, each frame analysed once."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import threading
import time

import pytest
from channels.db import database_sync_to_async
from django.core.cache import cache

from procto.celery import app as celery_app
from procto.tests.live_servers import (
    PYTHON,
    celery_worker_cmd,
    daphne_cmd,
    free_port,
    running,
    stop,
    wait_for_http,
    wait_for_log,
)
from proctoring import frame_batches, tasks
from proctoring.frame_batches import FrameBatcher
from proctoring.media import media_received
from proctoring.models import MediaSample
from proctoring.stream_state import done_key, pending_frames_key
from proctoring.tests.media import tone_pcm, webcam_jpeg
from proctoring.tests.test_pipeline_live import connect, frame_bytes, next_of, shared_env
from sessions.tests.factories import ExamSessionFactory


class Sent:
    """A batcher's `send`: the batches it was given and when."""

    def __init__(self) -> None:
        self.batches: list[list] = []
        self.at: list[float] = []
        self.arrived = threading.Event()

    def __call__(self, batch: list) -> None:
        self.batches.append(batch)
        self.at.append(time.monotonic())
        self.arrived.set()


@pytest.fixture
def queued(monkeypatch):
    """Tasks are queued, not run in process, as with a broker; the batches are kept to be read."""
    sent = Sent()
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    # A window the test's three frames fit in even on a busy machine (the lone frame's test times one).
    monkeypatch.setattr(frame_batches, "_batcher", FrameBatcher(window_seconds=1.0, send=sent))
    yield sent
    frame_batches._batcher.close()
    celery_app.conf.task_always_eager = eager


def accept_frame(session, seq: int = 1) -> bool:
    return media_received(
        session_id=session.pk,
        kind="frame",
        seq=seq,
        captured_ms=int(time.time() * 1000),
        payload=webcam_jpeg(),
    )


@pytest.mark.django_db
def test_frames_of_several_students_within_the_window_go_out_as_one_task_each_analysed_once(
    world, queued, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    students = [world.stu_in_physics, world.sam_in_physics, world.cat_in_chemistry]
    cache.delete("metrics:frames_analysed")
    for session in students:
        assert accept_frame(session) is False  # no slow-down
    assert queued.arrived.wait(5)
    time.sleep(1.2)  # a second batch would have gone by now
    assert len(queued.batches) == 1
    (batch,) = queued.batches
    assert [frame[:2] for frame in batch] == [[str(s.pk), 1] for s in students]
    # The worker's half, as a worker runs the task; then delivered again, as after a lost worker.
    assert tasks.frames_analyse(batch) == ["done"] * 3
    assert tasks.frames_analyse(batch) == ["duplicate"] * 3
    assert cache.get("metrics:frames_analysed") == 3
    for session in students:
        assert cache.get(done_key(session.pk, "frame", 1))
        assert not cache.get(pending_frames_key(session.pk))  # the socket's backpressure count
        assert MediaSample.objects.filter(session=session, kind="frame").count() == 1


def test_audio_chunks_of_several_students_go_out_as_one_task_each_analysed_once(world, queued, monkeypatch):
    """Audio travels in batches too (a class sends twice as many chunks as frames): one task on
    the audio queue for the window's chunks, each analysed once, none dropped."""
    sent = Sent()  # `queued` turns eager Celery off; this holds the audio batches
    batcher = FrameBatcher(window_seconds=1.0, send=sent, name="audio")
    monkeypatch.setattr(frame_batches, "_audio_batcher", batcher)
    students = [world.stu_in_physics, world.sam_in_physics, world.cat_in_chemistry]
    for session in students:
        slow_down = media_received(
            session_id=session.pk,
            kind="audio",
            seq=4,
            captured_ms=int(time.time() * 1000),
            payload=tone_pcm(),
        )
        assert slow_down is False
    assert sent.arrived.wait(5)
    time.sleep(1.2)
    batcher.close()
    (batch,) = sent.batches
    assert [chunk[:2] for chunk in batch] == [[str(s.pk), 4] for s in students]
    assert tasks.audio_chunks_analyse(batch) == ["done"] * 3
    assert tasks.audio_chunks_analyse(batch) == ["duplicate"] * 3  # delivered again: not twice
    for session in students:
        assert cache.get(done_key(session.pk, "audio", 4))
    route = celery_app.amqp.router.route({}, "proctoring.tasks.audio_chunks_analyse")
    assert route["queue"].name == "audio"


def test_a_lone_frame_is_sent_within_the_window_without_another_frame_to_push_it():
    sent = Sent()
    batcher = FrameBatcher(window_seconds=0.05, send=sent)
    added = time.monotonic()
    batcher.add(["session", 1, 0, "", None])
    assert sent.arrived.wait(2)
    assert sent.batches == [[["session", 1, 0, "", None]]]
    # The window, and some slack for a busy shared machine's scheduler; not a poll of a second.
    assert 0.04 <= sent.at[0] - added < 0.5
    batcher.close()


def test_a_full_batch_goes_at_once_from_the_flusher_and_a_closing_process_sends_what_it_holds():
    sent = Sent()
    senders = []
    batcher = FrameBatcher(
        window_seconds=60, send=lambda b: (senders.append(threading.current_thread()), sent(b))
    )
    batcher.max_frames = 3
    for seq in (1, 2, 3, 4, 5):
        batcher.add(["session", seq, 0, "", None])
    assert sent.arrived.wait(2)  # a full batch does not wait for its 60 s window
    assert [[f[1] for f in b] for b in sent.batches] == [[1, 2, 3]]
    # ...and is sent by the flusher thread, never by the adding one (the socket's event loop).
    assert senders[0] is not threading.current_thread()
    batcher.close()  # atexit: SIGTERM or SIGINT to daphne
    assert [[f[1] for f in b] for b in sent.batches] == [[1, 2, 3], [4, 5]]
    batcher.add(["session", 6, 0, "", None])  # a socket still draining while the process exits
    assert [[f[1] for f in b] for b in sent.batches] == [[1, 2, 3], [4, 5], [6]]


def test_without_a_window_each_frame_is_its_own_task_sent_by_the_flusher_not_the_adding_thread():
    # FRAME_BATCH_SECONDS=0 (a task per frame, as bench/pipeline.py compares): the publish, which
    # blocks on the broker, still never runs on the socket's event loop.
    senders, sent = [], Sent()
    batcher = FrameBatcher(
        window_seconds=0, send=lambda b: (senders.append(threading.current_thread()), sent(b))
    )
    for seq in (1, 2, 3):
        batcher.add(["session", seq, 0, "", None])
    deadline = time.monotonic() + 2
    while len(sent.batches) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [[f[1] for f in b] for b in sent.batches] == [[1], [2], [3]]
    assert threading.current_thread() not in senders
    batcher.close()


def test_a_batch_the_broker_refuses_is_logged_and_the_next_one_still_goes(caplog):
    sent = Sent()
    refused = []

    def send(batch):
        if not refused:
            refused.append(batch)
            raise ConnectionError("broker down")
        sent(batch)

    batcher = FrameBatcher(window_seconds=0.01, send=send)
    batcher.add(["session", 1, 0, "", None])
    time.sleep(0.1)
    batcher.add(["session", 2, 0, "", None])
    assert sent.arrived.wait(2)
    assert sent.batches == [[["session", 2, 0, "", None]]]
    assert "a batch of 1 frames could not be queued" in caplog.text
    batcher.close()


@pytest.mark.needs_redis
@pytest.mark.needs_postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_batch_whose_worker_is_killed_mid_way_is_delivered_again_and_each_frame_analysed_once(
    tmp_path, settings, monkeypatch
):
    import redis

    settings.MEDIA_ROOT = tmp_path / "media"
    # The web half as daphne runs it: its batcher, its flusher thread, the real broker.
    batcher = FrameBatcher(window_seconds=0.2, send=frame_batches._publish)
    monkeypatch.setattr(frame_batches, "_batcher", batcher)
    broker = redis.Redis.from_url(os.environ["REDIS_URL"])
    broker.delete("frames")  # frames other tests left queued
    sessions = [ExamSessionFactory() for _ in range(3)]
    cache.delete_many(["metrics:frames_analysed", "metrics:frames_dropped"])
    for session in sessions:
        accept_frame(session)
    deadline = time.monotonic() + 5
    while not broker.llen("frames") and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    messages = [json.loads(m) for m in broker.lrange("frames", 0, -1)]
    assert [m["headers"]["task"] for m in messages] == ["proctoring.tasks.frames_analyse"]
    (frames,) = json.loads(base64.b64decode(messages[0]["body"]))[0]  # [args, kwargs, embed]
    assert [f[0] for f in frames] == [str(s.pk) for s in sessions]

    env = shared_env(tmp_path, CELERY_VISIBILITY_TIMEOUT="3")
    marker = tmp_path / "started"
    # Analyses the batch's first frame, then stops on the second until killed.
    slow = [PYTHON, "-m", "proctoring.tests.slow_worker", "30", str(marker), "1"]
    with running(slow, env=env, log=tmp_path / "slow.log") as doomed:
        wait_for_log(tmp_path / "slow.log", " ready.", process=doomed, timeout=60)
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), (tmp_path / "slow.log").read_text()
        os.killpg(doomed.pid, signal.SIGKILL)  # mid-batch: the message was never acknowledged
    first, *rest = sessions
    assert cache.get(done_key(first.pk, "frame", 1))
    assert not any(cache.get(done_key(s.pk, "frame", 1)) for s in rest)
    worker_log = tmp_path / "worker.log"
    with running(celery_worker_cmd("frames", "audio", "default"), env=env, log=worker_log) as worker:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(cache.get(done_key(s.pk, "frame", 1)) for s in rest):
            assert worker.poll() is None, worker_log.read_text()
            time.sleep(0.3)
        time.sleep(4)  # past another visibility timeout: a second delivery would show now
    assert all(cache.get(done_key(s.pk, "frame", 1)) for s in sessions), worker_log.read_text()
    assert cache.get("metrics:frames_analysed") == 3  # the first frame not again
    assert not cache.get("metrics:frames_dropped")
    assert MediaSample.objects.filter(session__in=sessions, kind="frame").count() == 3


@pytest.mark.needs_redis
@pytest.mark.needs_postgres
@pytest.mark.slow
async def test_a_daphne_stopped_with_sigterm_sends_the_frames_it_holds_first(
    tmp_path, transactional_db, student
):
    import redis

    broker = redis.Redis.from_url(os.environ["REDIS_URL"])
    await asyncio.to_thread(broker.delete, "frames")
    session = await database_sync_to_async(ExamSessionFactory)(student=student)
    port = free_port()
    # A window far longer than the test: only the shutdown can send the frame.
    env = shared_env(tmp_path, FRAME_BATCH_SECONDS="10")
    with running(daphne_cmd(port), env=env, log=tmp_path / "daphne.log") as server:
        await asyncio.to_thread(wait_for_http, f"http://127.0.0.1:{port}/healthz", process=server)
        stream = await connect(port, f"/ws/exam-sessions/{session.pk}/stream/", student)
        await stream.send(frame_bytes(7, webcam_jpeg(), time.time()))
        assert (await next_of(stream, "ack", 5))["seq"] == 7
        assert await asyncio.to_thread(broker.llen, "frames") == 0  # held for its window
        await asyncio.to_thread(stop, server)  # SIGTERM, as docker stop and make run's Ctrl-C
    assert server.returncode is not None
    messages = [json.loads(m) for m in await asyncio.to_thread(broker.lrange, "frames", 0, -1)]
    assert [m["headers"]["task"] for m in messages] == ["proctoring.tasks.frames_analyse"]
    (frames,) = json.loads(base64.b64decode(messages[0]["body"]))[0]
    assert [f[:2] for f in frames] == [[str(session.pk), 7]]


@pytest.mark.needs_redis
def test_the_queued_task_shows_whose_frames_it_holds_in_the_logs_never_the_pictures(settings):
    """Celery logs "Task ... received" with a repr of the arguments: with frames, the start of
    each student's picture in base64, in every line. The batch names its sessions instead."""
    import redis

    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    session = f"argsrepr-{time.time_ns()}"
    picture = base64.b64encode(webcam_jpeg()).decode()
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        frame_batches._publish([[session, 1, int(time.time() * 1000), picture, None]])
        mine = [m for m in broker.lrange("frames", 0, -1) if session.encode() in m]
    finally:
        celery_app.conf.task_always_eager = eager
        for message in broker.lrange("frames", 0, -1):
            if session.encode() in message:
                broker.lrem("frames", 1, message)  # no worker is meant to see it
    assert len(mine) == 1
    assert json.loads(mine[0])["headers"]["argsrepr"] == f"(1 frames of sessions {session})"


@pytest.mark.django_db
def test_embedded_mode_analyses_at_once_and_logs_no_picture(world, settings, tmp_path, caplog):
    """Embedded mode (eager Celery) runs the analysis in the process; Celery's eager trace logged
    each frame's whole picture in base64 in its "succeeded" line."""
    settings.MEDIA_ROOT = tmp_path
    session = world.stu_in_physics
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    picture = base64.b64encode(webcam_jpeg()).decode()
    try:
        with caplog.at_level("INFO", logger="celery.app.trace"):
            frame_batches._publish([[str(session.pk), 1, int(time.time() * 1000), picture, None]])
    finally:
        celery_app.conf.task_always_eager = eager
    assert cache.get(done_key(session.pk, "frame", 1))
    logged = [f"{r.getMessage()} {r.args!r} {getattr(r, 'data', '')!r}" for r in caplog.records]
    assert not [line for line in logged if picture[:40] in line]
