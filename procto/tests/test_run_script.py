"""`make run`'s start script on an empty checkout state: it serves, seeds once, restarts cleanly."""

from __future__ import annotations

import re
import time
import urllib.request

import pytest

from procto.tests.live_servers import (
    PYTHON,
    REPO_ROOT,
    child_env,
    free_port,
    running,
    wait_for_http,
    wait_for_log,
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
    assert "7 user(s) created, exam created" in output
    assert "student1@procto.local" in output and "student1-demo-2026" in output
    assert "http://127.0.0.1:" in output

    health, _, output = start_and_probe(tmp_path, "second")
    assert health == 200
    assert "0 user(s) created, exam already present" in output


@pytest.mark.needs_postgres
@pytest.mark.needs_redis
def test_run_in_services_mode_starts_one_solo_worker_per_core(tmp_path):
    import os
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    # A database of its own: the script migrates and seeds it, which the test database must not get.
    server = urlsplit(os.environ["DATABASE_URL"])
    with psycopg.connect(urlunsplit(server._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "procto_run_script" WITH (FORCE)')
        conn.execute('CREATE DATABASE "procto_run_script"')
    port = free_port()
    env = child_env(
        PY=PYTHON,
        PROCTO_PORT=str(port),
        PROCTO_LOCAL_DIR=str(tmp_path / "local"),
        MEDIA_ROOT=str(tmp_path / "media"),
        DATABASE_URL=urlunsplit(server._replace(path="/procto_run_script")),
        DJANGO_DEBUG=None,
    )
    log = tmp_path / "services.log"
    with running([str(REPO_ROOT / "scripts" / "run.sh")], env=env, log=log) as process:
        assert wait_for_http(f"http://127.0.0.1:{port}/healthz", process=process, timeout=90) == 200
        wait_for_log(log, "Celery workers started", process=process, timeout=30)
        for _ in range(300):
            if log.read_text().count(" ready.") >= os.cpu_count():
                break
            time.sleep(0.2)
    output = log.read_text()
    assert output.count(" ready.") == os.cpu_count(), output[-3000:]
    assert output.count("(solo)") == os.cpu_count(), output[-3000:]  # each banner's pool
    for n in range(1, os.cpu_count() + 1):
        assert re.search(rf"worker{n}@\S+ ready\.", output), output[-3000:]
