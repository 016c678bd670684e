"""A body over its view's limit is refused with 413 TOO_LARGE before Django reads it
(procto.body_limit): in the ASGI application daphne serves, and through daphne itself."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests
from asgiref.testing import ApplicationCommunicator
from django.db import connection

from accounts.images import upload_request_bytes
from accounts.services import token_pair_issue
from procto.asgi import application
from procto.tests.live_servers import child_env, daphne_cmd, free_port, running, wait_for_http

MB = 1024 * 1024
CHUNK = b"\xff" * MB


def http_scope(
    path: str, *, content_length: int | None, content_type: bytes = b"multipart/form-data; boundary=x"
):
    headers = [(b"host", b"testserver"), (b"content-type", content_type)]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def post(path: str, *, content_length: int | None, chunks: int) -> tuple[dict, bytes, int]:
    """Queues `chunks` MB of body at once, then waits for the answer: (start, body, chunks unread)."""
    communicator = ApplicationCommunicator(application, http_scope(path, content_length=content_length))
    for n in range(chunks):
        await communicator.send_input({"type": "http.request", "body": CHUNK, "more_body": n < chunks - 1})
    start = await communicator.receive_output(timeout=10)
    body = await communicator.receive_output(timeout=10)
    unread = communicator.input_queue.qsize()
    await communicator.wait(timeout=10)
    return start, body["body"], unread


async def test_a_100_mb_identity_capture_is_refused_from_its_content_length_with_none_of_it_read():
    start, body, unread = await post("/api/exams/1/identity-check", content_length=100 * MB, chunks=100)
    assert start["status"] == 413
    assert (b"connection", b"close") in start["headers"]
    error = json.loads(body)["error"]
    assert error["code"] == "TOO_LARGE"
    assert error["message"] == "The upload is 100.0 MB; the limit here is 6.0 MB."
    assert error["details"] == {"limit": upload_request_bytes(images=1)}
    assert unread == 100


async def test_a_capture_without_content_length_is_refused_once_its_bytes_pass_the_limit():
    start, body, unread = await post("/api/exams/1/identity-check", content_length=None, chunks=100)
    assert start["status"] == 413
    assert json.loads(body)["error"]["code"] == "TOO_LARGE"
    # 6 MB is the limit: the seventh megabyte passed it, and the other 93 were never read.
    assert unread == 93


async def test_a_verification_and_the_profile_page_have_limits_of_their_own():
    start, body, _ = await post("/api/auth/verify-identity", content_length=17 * MB, chunks=1)
    assert start["status"] == 413
    assert json.loads(body)["error"]["details"] == {"limit": upload_request_bytes(images=3)}
    # The profile page's form takes two images; its refusal is the error page, not JSON.
    start, body, _ = await post("/accounts/profile/identity/", content_length=12 * MB, chunks=1)
    assert start["status"] == 413
    assert (b"content-type", b"text/html; charset=utf-8") in start["headers"]
    assert "Upload too large" in body.decode() and "the limit here is 11.0 MB" in body.decode()


@pytest.mark.django_db
async def test_a_body_within_the_limit_reaches_the_view():
    # An anonymous capture of 1 MB: past the limit check, the view's permission refuses it.
    start, body, _ = await post("/api/exams/1/identity-check", content_length=MB, chunks=1)
    assert start["status"] in (401, 403)
    assert json.loads(body)["error"]["code"] in ("NOT_AUTHENTICATED", "PERMISSION_DENIED")


def peak_memory_mb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) // 1024


@pytest.fixture
def daphne_port(transactional_db, settings, tmp_path):
    """daphne on the test's database (PostgreSQL: the server reads what the test writes)."""
    database = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{connection.settings_dict['NAME']}"
    env = child_env(
        DATABASE_URL=database,
        JWT_SIGNING_KEY=settings.JWT_SIGNING_KEY.hex(),
        PROCTO_LOCAL_DIR=str(tmp_path / "local"),
    )
    port = free_port()
    with running(daphne_cmd(port), env=env, log=tmp_path / "daphne.log") as daphne:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process=daphne)
        yield port, daphne.pid


@pytest.mark.needs_postgres
@pytest.mark.slow
def test_a_100_mb_capture_through_daphne_is_413_too_large_without_parsing_it_in_memory(
    daphne_port, transactional_world
):
    """What the finding saw: a signed-in student's 100 MB capture answered 400 VALIDATION_ERROR,
    after daphne's Twisted had parsed it in memory (its peak memory up 1.3 GB)."""
    port, pid = daphne_port
    token = token_pair_issue(user=transactional_world.stu).access_token
    before = peak_memory_mb(pid)
    response = requests.post(
        f"http://127.0.0.1:{port}/api/exams/{transactional_world.physics.pk}/identity-check",
        headers={"Authorization": f"Bearer {token}"},
        files={"liveCapture": ("huge.jpg", b"\xff" * (100 * 1000 * 1000), "image/jpeg")},
        timeout=60,
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "TOO_LARGE"
    # daphne still queues the body for the application (~100 MB); nothing parses it.
    assert peak_memory_mb(pid) - before < 400


@pytest.mark.needs_postgres
@pytest.mark.slow
def test_a_multipart_body_twisted_cannot_parse_gets_the_api_envelope(daphne_port):
    port, _ = daphne_port
    response = requests.post(
        f"http://127.0.0.1:{port}/api/exams/1/identity-check",
        data=b"not multipart at all",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
        timeout=30,
    )
    # Django's answer in the envelope (not signed in), not Twisted's bare, empty 400.
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"
