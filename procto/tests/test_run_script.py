"""`make run`'s start script on an empty checkout state: it serves, seeds once, restarts cleanly."""

from __future__ import annotations

import urllib.request

import pytest

from procto.tests.live_servers import (
    PYTHON,
    REPO_ROOT,
    child_env,
    free_port,
    running,
    wait_for_http,
)

pytestmark = pytest.mark.slow


def start_and_probe(tmp_path, name: str) -> tuple[int, str, str]:
    port = free_port()
    env = child_env(
        PY=PYTHON,
        PROCTO_PORT=str(port),
        PROCTO_LOCAL_DIR=str(tmp_path / "local"),
        MEDIA_ROOT=str(tmp_path / "media"),
        DATABASE_URL=None,
        REDIS_URL=None,
        DJANGO_DEBUG=None,
    )
    log = tmp_path / f"{name}.log"
    with running([str(REPO_ROOT / "scripts" / "run.sh")], env=env, log=log) as process:
        health = wait_for_http(f"http://127.0.0.1:{port}/healthz", process=process, timeout=60)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/") as response:
            login_page = response.read().decode()
    return health, login_page, log.read_text()


def test_run_serves_the_login_page_and_a_healthy_healthz_then_restarts_without_reseeding(tmp_path):
    health, login_page, output = start_and_probe(tmp_path, "first")
    assert health == 200
    assert "Log in to Procto" in login_page
    assert "6 user(s) created, exam created" in output
    assert "student1@procto.local" in output and "student1-demo-2026" in output
    assert "http://127.0.0.1:" in output

    health, _, output = start_and_probe(tmp_path, "second")
    assert health == 200
    assert "0 user(s) created, exam already present" in output
