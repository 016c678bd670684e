"""An API call while PostgreSQL or Redis cannot be reached (a restart, a failover) is a 503 with
Retry-After in the usual envelope, which the pages retry, not an "unexpected error" 500."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.error
import urllib.request
import uuid

import pytest
import websockets
from django.test import override_settings

from accounts import tokens
from accounts.services import token_pair_issue
from accounts.ws_auth import CLOSE_TRY_AGAIN_LATER
from procto.tests.cluster import wait_for_port
from procto.tests.live_servers import child_env, daphne_cmd, free_port, running, wait_for_http
from sessions.tests.factories import ExamSessionFactory

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: a real refused connection
SAVE = {"answers": [], "sequence": 1}


def assert_service_unavailable(status: int, headers, body: dict) -> None:
    assert status == 503, body
    assert headers["Retry-After"] == "5"
    assert body["success"] is False
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert "try again" in body["error"]["message"].lower()


@pytest.mark.django_db
def test_an_api_call_while_redis_is_down_is_a_503_to_retry(api, student):
    session = ExamSessionFactory(student=student)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=student).access_token}")
    dead_cache = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    with override_settings(CACHES=dead_cache):  # the API's rate limits count in the cache
        response = api.put(f"/api/exam-sessions/{session.pk}/save-answers", SAVE, format="json")
    assert_service_unavailable(response.status_code, response.headers, response.json())


@pytest.mark.slow
def test_an_api_call_while_the_database_is_down_is_a_503_to_retry(tmp_path):
    port = free_port()
    dead_database = f"postgres://postgres@127.0.0.1:{free_port()}/gone"  # a port nothing listens on
    env = child_env(
        DATABASE_URL=dead_database, REDIS_URL=None, DATABASE_CONNECT_TIMEOUT="1", DATABASE_POOL_TIMEOUT="1"
    )
    token, _ = tokens.encode(user_id=1, token_type=tokens.ACCESS, family_id=uuid.uuid4(), token_version=0)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/exam-sessions/{uuid.uuid4()}/save-answers",
        data=json.dumps(SAVE).encode(),
        method="PUT",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with running(daphne_cmd(port), env=env, log=tmp_path / "daphne.log") as server:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process=server)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)  # noqa: S310
    answer = refused.value
    assert_service_unavailable(answer.code, answer.headers, json.loads(answer.read()))
    assert "Traceback" not in (tmp_path / "daphne.log").read_text()


@pytest.mark.slow
def test_a_socket_opened_while_redis_is_down_is_closed_with_4503_through_daphne(tmp_path):
    # daphne's WebSocket library refuses to send a close code outside 1000 and 3000-4999 (and
    # closes with 1011 instead): the code is checked through daphne, not only in-process.
    port = free_port()
    env = child_env(DATABASE_URL=None, REDIS_URL=DEAD_REDIS, PROCTO_LOCAL_DIR=str(tmp_path / "local"))
    with running(daphne_cmd(port), env=env, log=tmp_path / "daphne.log") as server:
        wait_for_port(port, process=server, timeout=60)  # /healthz would wait on the dead Redis
        code = asyncio.run(
            close_code_of(f"ws://127.0.0.1:{port}/ws/check/", origin=f"http://127.0.0.1:{port}")
        )
    assert code == CLOSE_TRY_AGAIN_LATER, (tmp_path / "daphne.log").read_text()[-2000:]


async def close_code_of(url: str, *, origin: str) -> int | None:
    # A page's session cookie: reading its session is the first thing that needs Redis.
    cookie = {"Cookie": "sessionid=abcdefghijklmnopqrstuvwxyz012345"}
    async with websockets.connect(url, origin=origin, open_timeout=10, additional_headers=cookie) as socket:
        with contextlib.suppress(websockets.ConnectionClosed):
            await asyncio.wait_for(socket.recv(), 10)
    return socket.close_code
