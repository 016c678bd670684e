"""The pipeline as deployed: daphne, real Celery workers and Redis, in separate processes."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import time

import pytest
import websockets
from channels.db import database_sync_to_async
from django.core.cache import cache
from django.db import connection

from accounts import services as account_services
from procto.tests.live_servers import (
    PYTHON,
    celery_worker_cmd,
    child_env,
    daphne_cmd,
    free_port,
    running,
    wait_for_http,
    wait_for_log,
)
from proctoring import tasks
from proctoring.models import ProctoringEvent
from proctoring.stream import FRAME, HEADER
from proctoring.stream_state import done_key
from proctoring.tests import faces
from proctoring.tests.media import webcam_jpeg
from sessions.tests.factories import ExamSessionFactory

pytestmark = [pytest.mark.needs_redis, pytest.mark.needs_postgres, pytest.mark.slow]


def shared_env(tmp_path, **extra) -> dict:
    database = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{connection.settings_dict['NAME']}"
    return child_env(
        DATABASE_URL=database,
        PROCTO_LOCAL_DIR=str(tmp_path / "local"),
        MEDIA_ROOT=str(tmp_path / "media"),
        **extra,
    )


@pytest.fixture
def stack(tmp_path, transactional_db, settings):
    """daphne and one Celery worker sharing the test's database and Redis."""
    settings.MEDIA_ROOT = tmp_path / "media"
    port = free_port()
    env = shared_env(tmp_path)
    worker_log = tmp_path / "worker.log"
    with (
        running(daphne_cmd(port), env=env, log=tmp_path / "daphne.log") as server,
        running(celery_worker_cmd("frames", "audio", "default"), env=env, log=worker_log) as worker,
    ):
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process=server)
        wait_for_log(worker_log, " ready.", process=worker, timeout=60)
        yield {"port": port, "worker_log": worker_log}


def frame_bytes(seq: int, jpeg: bytes, captured_s: float) -> bytes:
    return HEADER.pack(FRAME, seq, int(captured_s * 1000)) + jpeg


async def connect(port: int, path: str, user) -> websockets.ClientConnection:
    ticket = await database_sync_to_async(account_services.ws_ticket_issue)(user=user, login_id="live")
    return await websockets.connect(
        f"ws://127.0.0.1:{port}{path}?ticket={ticket}", origin=f"http://127.0.0.1:{port}"
    )


async def next_of(socket, wanted: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), max(0.1, deadline - time.monotonic())))
        if message["type"] == wanted:
            return message


async def test_two_faces_on_camera_become_an_alert_on_the_monitor(stack, student, proctor):
    session = await database_sync_to_async(ExamSessionFactory)(student=student, exam__security_level="high")
    await database_sync_to_async(session.exam.proctors.add)(proctor)
    monitor = await connect(stack["port"], "/ws/monitor/", proctor)
    stream = await connect(stack["port"], f"/ws/exam-sessions/{session.pk}/stream/", student)
    two = webcam_jpeg(faces.two_people(), size=(640, 480))
    now = time.time()
    # Two frames 2 s apart (the high-security cadence): the condition lasted its onset.
    for seq, captured in ((1, now - 2), (2, now)):
        await stream.send(frame_bytes(seq, two, captured))
        assert (await next_of(stream, "ack", 5))["seq"] == seq
    alert = await next_of(monitor, "alert", 30)
    assert alert["event"]["type"] == "multiple-faces"
    assert alert["event"]["sessionId"] == str(session.pk)
    await stream.close()
    await monitor.close()
    event = await database_sync_to_async(ProctoringEvent.objects.get)(session=session, type="multiple-faces")
    assert event.snapshot and event.details["faceCount"] == 2


async def test_a_poisoned_frame_fails_alone_and_the_worker_goes_on(stack, student):
    session = await database_sync_to_async(ExamSessionFactory)(student=student)
    stream = await connect(stack["port"], f"/ws/exam-sessions/{session.pk}/stream/", student)
    good = webcam_jpeg()
    # A JPEG whose headers are right but whose picture data is garbage passes the socket's checks.
    poisoned = good[:300] + bytes(range(256)) * 8 + good[-2:]
    await stream.send(frame_bytes(1, poisoned, time.time()))
    await stream.send(frame_bytes(2, good, time.time()))
    for _ in range(2):
        await next_of(stream, "ack", 5)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not await database_sync_to_async(cache.get)(
        done_key(session.pk, "frame", 2)
    ):
        await asyncio.sleep(0.2)
    assert await database_sync_to_async(cache.get)(done_key(session.pk, "frame", 2))
    await stream.close()
    assert "Traceback" not in stack["worker_log"].read_text()


@pytest.mark.django_db(transaction=True)
def test_a_killed_workers_frame_is_analysed_after_restart_exactly_once(tmp_path, student, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    session = ExamSessionFactory(student=student)
    env = shared_env(tmp_path, CELERY_VISIBILITY_TIMEOUT="3")
    cache.delete("metrics:frames_analysed")
    marker = tmp_path / "started"
    slow = [PYTHON, "-m", "proctoring.tests.slow_worker", "30", str(marker)]
    with running(slow, env=env, log=tmp_path / "slow.log") as doomed:
        wait_for_log(tmp_path / "slow.log", " ready.", process=doomed, timeout=60)
        # One frame a task, as a web process of the last release queues it during a rolling deploy
        # (batches of frames: test_frame_batches).
        tasks.frame_analyse.delay(str(session.pk), 1, int(time.time() * 1000), _b64(webcam_jpeg()))
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), (tmp_path / "slow.log").read_text()
        os.killpg(doomed.pid, signal.SIGKILL)  # mid-task: the message was never acknowledged
    worker_log = tmp_path / "worker.log"
    with running(celery_worker_cmd("frames", "audio", "default"), env=env, log=worker_log) as worker:
        deadline = time.monotonic() + 60
        while not cache.get(done_key(session.pk, "frame", 1)) and time.monotonic() < deadline:
            assert worker.poll() is None, worker_log.read_text()
            time.sleep(0.3)
        time.sleep(4)  # past another visibility timeout: a second delivery would show now
    assert cache.get(done_key(session.pk, "frame", 1)), worker_log.read_text()
    assert cache.get("metrics:frames_analysed") == 1


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
