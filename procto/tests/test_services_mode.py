"""Services mode across real processes: daphne and a Celery worker talking through real Redis."""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest
import websockets
from channels.db import database_sync_to_async
from channels_redis.core import RedisChannelLayer
from django.core.cache import cache
from django.db import connection, transaction

from accounts import services
from procto.tasks import BEAT_HEARTBEAT_KEY, beat_heartbeat
from procto.tests.live_servers import (
    celery_worker_cmd,
    child_env,
    daphne_cmd,
    free_port,
    running,
    wait_for_http,
    wait_for_log,
)
from sessions.consumers import CHECK_GROUP

# Past redis-py's default pool of 100 connections, which used to refuse the rest with HTTP 500.
CLASS_SIZE = 200
pytestmark = [pytest.mark.needs_redis, pytest.mark.needs_postgres, pytest.mark.slow]


def shared_database_url() -> str:
    """DATABASE_URL pointing at the test database pytest-django created for this run."""
    name = connection.settings_dict["NAME"]
    return os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def daphne_server(tmp_path, transactional_db):
    port = free_port()
    # The server shares the test's PostgreSQL database and Redis: tickets and users made here
    # are what it sees.
    env = child_env(DATABASE_URL=shared_database_url(), PROCTO_LOCAL_DIR=str(tmp_path))
    with running(daphne_cmd(port), env=env, log=tmp_path / "daphne.log") as process:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process=process)
        yield port


def check_url(port: int, user) -> str:
    ticket = services.ws_ticket_issue(user=user, login_id="services-test")
    return f"ws://127.0.0.1:{port}/ws/check/?ticket={ticket}"


async def test_websocket_round_trip_through_redis_across_processes(daphne_server, student):
    port = daphne_server
    # The test process's own layer, on the same Redis, stands in for a Celery worker.
    layer = RedisChannelLayer(hosts=[os.environ["REDIS_URL"]], prefix="procto:channels")
    url = await database_sync_to_async(check_url)(port, student)
    async with websockets.connect(url, origin=f"http://127.0.0.1:{port}") as socket:
        await socket.send(json.dumps({"type": "ping", "id": 1}))
        pong = json.loads(await asyncio.wait_for(socket.recv(), 5))
        assert pong["type"] == "pong"
        assert pong["id"] == 1

        # group_add in the server happened before accept, so the group already holds the socket.
        await layer.group_send(CHECK_GROUP, {"type": "check.notice", "message": "from pytest"})
        notice = json.loads(await asyncio.wait_for(socket.recv(), 5))
        assert notice == {"type": "notice", "message": "from pytest"}
    await layer.flush()


def test_healthz_of_a_services_mode_server_reports_redis_backends(daphne_server):
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{daphne_server}/healthz") as response:
        body = json.loads(response.read())
    assert body["mode"] == "services"
    assert body["checks"]["channel_layer"]["backend"] == "RedisChannelLayer"
    assert body["checks"]["cache"]["backend"] == "RedisCache"
    assert body["checks"]["broker"]["backend"] == "redis"


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_tasks_sent_on_commit_through_the_redis_broker(tmp_path):
    cache.delete(BEAT_HEARTBEAT_KEY)
    env = child_env(DATABASE_URL=None, PROCTO_LOCAL_DIR=str(tmp_path))
    log = tmp_path / "worker.log"
    with running(celery_worker_cmd("default"), env=env, log=log) as worker:
        wait_for_log(log, " ready.", process=worker)
        with transaction.atomic():
            beat_heartbeat.delay_on_commit()
            # Held back until commit: a worker must never see rows that may still roll back.
            time.sleep(1.5)
            assert cache.get(BEAT_HEARTBEAT_KEY) is None
        deadline = time.monotonic() + 30
        while cache.get(BEAT_HEARTBEAT_KEY) is None and time.monotonic() < deadline:
            assert worker.poll() is None, log.read_text()
            time.sleep(0.2)
    assert cache.get(BEAT_HEARTBEAT_KEY) is not None, log.read_text()
    assert "procto.tasks.beat_heartbeat" in log.read_text()


async def test_a_whole_class_connecting_at_once_is_served(daphne_server, student):
    # An exam starts for everyone at the same minute: hundreds of sockets join groups at once.
    port = daphne_server
    urls = [await database_sync_to_async(check_url)(port, student) for _ in range(CLASS_SIZE)]

    async def one_student(n: int) -> dict:
        async with websockets.connect(urls[n], origin=f"http://127.0.0.1:{port}", open_timeout=30) as socket:
            await socket.send(json.dumps({"type": "ping", "id": n}))
            return json.loads(await asyncio.wait_for(socket.recv(), 30))

    replies = await asyncio.gather(*(one_student(n) for n in range(CLASS_SIZE)))
    assert sorted(reply["id"] for reply in replies) == list(range(CLASS_SIZE))


async def test_an_idle_socket_stays_open_past_the_layers_blocking_receive(daphne_server, student):
    # channels_redis blocks 5 s on each receive; a Redis client timing reads out at 5 s used to
    # crash every consumer that had nothing to do for that long.
    port = daphne_server
    url = await database_sync_to_async(check_url)(port, student)
    async with websockets.connect(url, origin=f"http://127.0.0.1:{port}") as socket:
        await asyncio.sleep(7)
        await socket.send(json.dumps({"type": "ping", "id": "after-idle"}))
        assert json.loads(await asyncio.wait_for(socket.recv(), 5))["id"] == "after-idle"
