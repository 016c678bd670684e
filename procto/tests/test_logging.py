"""Logs an operator can use: JSON lines from daphne and the Celery workers, and the request id of
an HTTP request or a student's socket on every line it causes, in the web node and the worker."""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.request

import pytest
import websockets
from channels.db import database_sync_to_async
from django.core.cache import cache

from accounts import services as account_services
from procto.log_context import request_id_from, request_log_context
from procto.tests.cluster import daphne_argv, worker_argv
from procto.tests.live_servers import (
    free_port,
    running,
    wait_for_http,
    wait_for_log,
)
from proctoring.stream_state import done_key
from proctoring.tests.media import webcam_jpeg
from proctoring.tests.test_pipeline_live import frame_bytes, next_of, shared_env
from sessions.tests.factories import ExamSessionFactory

# MediaPipe's native code (TensorFlow Lite, absl) writes to stderr itself, around Python's logging.
NATIVE_LINE = re.compile(
    r"^(INFO: Created TensorFlow Lite|WARNING: All log messages before absl|[IWE]\d{4} )"
)


def json_lines(path) -> list[dict]:
    """Every line Python wrote, as one JSON object each (fails on any other line)."""
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return [json.loads(line) for line in lines if not NATIVE_LINE.match(line)]


@pytest.fixture
def json_stack(tmp_path, transactional_db, settings):
    """daphne and a Celery worker as the compose file runs them, logging JSON lines (the worker at
    DEBUG, to see every task)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    port = free_port()
    web_log, worker_log = tmp_path / "daphne.log", tmp_path / "worker.log"
    with (
        running(daphne_argv(port), env=shared_env(tmp_path, LOG_FORMAT="json"), log=web_log) as web,
        running(
            worker_argv("logging"),
            env=shared_env(tmp_path, LOG_FORMAT="json", LOG_LEVEL="DEBUG"),
            log=worker_log,
        ) as worker,
    ):
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process=web)
        wait_for_log(worker_log, "ready", process=worker, timeout=60)
        yield {"port": port, "web": web, "web_log": web_log, "worker_log": worker_log}


@pytest.mark.needs_redis
@pytest.mark.needs_postgres
@pytest.mark.slow
async def test_a_frame_is_logged_with_its_sockets_request_id_in_daphne_and_in_the_worker(json_stack, student):
    port = json_stack["port"]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/healthz", headers={"X-Request-ID": "req-http-7"}
    )
    await asyncio.to_thread(urllib.request.urlopen, request)
    session = await database_sync_to_async(ExamSessionFactory)(student=student)
    ticket = await database_sync_to_async(account_services.ws_ticket_issue)(user=student, login_id="log")
    stream = await websockets.connect(
        f"ws://127.0.0.1:{port}/ws/exam-sessions/{session.pk}/stream/?ticket={ticket}",
        origin=f"http://127.0.0.1:{port}",
        additional_headers={"X-Request-ID": "req-socket-42"},
    )
    await stream.send(frame_bytes(1, webcam_jpeg(), time.time()))
    assert (await next_of(stream, "ack", 5))["seq"] == 1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not await database_sync_to_async(cache.get)(
        done_key(session.pk, "frame", 1)
    ):
        await asyncio.sleep(0.2)
    await stream.close()
    await asyncio.to_thread(wait_for_log, json_stack["web_log"], '"socket_closed"', process=json_stack["web"])

    web = json_lines(json_stack["web_log"])
    finished = [line for line in web if line["event"] == "request_finished"]
    assert any(line["request_id"] == "req-http-7" and line["code"] == 200 for line in finished)
    assert all({"timestamp", "level", "process"} <= set(line) for line in web)
    socket_lines = [line for line in web if line.get("request_id") == "req-socket-42"]
    assert [line["event"] for line in socket_lines if line["event"].startswith("socket_")] == [
        "socket_opened",
        "socket_closed",
    ]
    assert socket_lines[-1]["path"] == f"/ws/exam-sessions/{session.pk}/stream/"
    worker = json_lines(json_stack["worker_log"])
    # A frame reaches the worker in a batch with other sockets' frames (proctoring.frame_batches):
    # the id travels with each frame, and is bound while that frame is analysed.
    analysed = [
        line
        for line in worker
        if line["event"] == "frame_analysed" and line.get("request_id") == "req-socket-42"
    ]
    assert analysed, "the worker's line for the frame does not carry the socket's request id"
    assert (analysed[0]["seq"], analysed[0]["outcome"]) == (1, "done")


HOSTILE_IDS = ("x" * 65, "a b", '"}{"admin":true', "\xff")


def test_a_client_chosen_request_id_on_a_socket_is_kept_only_when_short_and_plain():
    assert request_id_from([(b"x-request-id", b"abc-123_4.5")]) == "abc-123_4.5"
    for hostile in HOSTILE_IDS:
        generated = request_id_from([(b"X-Request-ID", hostile.encode("latin-1"))])
        assert generated != hostile and len(generated) == 36


def test_a_client_chosen_request_id_on_a_request_is_kept_only_when_short_and_plain(rf):
    seen = []

    def view(request):
        seen.append(request.META.get("HTTP_X_REQUEST_ID"))

    check = request_log_context(view)
    check(rf.get("/", HTTP_X_REQUEST_ID="abc-123_4.5"))
    for hostile in HOSTILE_IDS:
        check(rf.get("/", HTTP_X_REQUEST_ID=hostile))
    assert seen == ["abc-123_4.5"] + [None] * len(HOSTILE_IDS)


@pytest.mark.django_db
def test_one_time_links_and_tickets_never_reach_the_log(client, caplog):
    secret = "c9x-4f2a1b7d0e3c8f6a5b4d"
    with caplog.at_level("INFO"):
        client.get(f"/accounts/password/reset/MQ/{secret}/")
        client.get(f"/accounts/register/confirm/{secret}/")
        client.get(f"/lti/window/{secret}")
        client.get(f"/healthz?ticket={secret}&exam=7")
    lines = [record.msg for record in caplog.records if isinstance(record.msg, dict)]
    requests = [line["request"] for line in lines if line.get("event") == "request_finished"]
    assert len(requests) == 4, requests
    assert not any(secret in str(line) for line in lines)
    assert "GET /accounts/password/reset/[redacted]/[redacted]/" in requests
    assert "GET /healthz?ticket=[redacted]&exam=7" in requests
