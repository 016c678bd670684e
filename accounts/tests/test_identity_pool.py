"""Identity checks through a real daphne: the photos are analysed outside the web process, and no
more checks run at once than the pool takes (accounts.identity_pool)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from django.db import connection

from accounts.identity_service import identity_verify
from accounts.services import token_pair_issue
from accounts.tests import identity_images as ids
from procto.tests.live_servers import child_env, daphne_cmd, free_port, running, wait_for_http

pytestmark = [pytest.mark.needs_postgres, pytest.mark.slow]


@pytest.fixture
def verified_stu(transactional_world, settings, tmp_path):
    """Stu, verified with the astronaut's photo and ID card, and a token for the API."""
    settings.MEDIA_ROOT = tmp_path / "media"
    stu = transactional_world.stu
    verification = identity_verify(user=stu, photo=ids.astronaut_photo(), id_card=ids.astronaut_id_card())
    assert verification.outcome == verification.Outcome.MATCH
    return stu, token_pair_issue(user=stu).access_token


def daphne_env(settings, tmp_path, **extra) -> dict[str, str]:
    database = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{connection.settings_dict['NAME']}"
    # daphne reads the embedding this process encrypted and the token it signed: the same keys.
    return child_env(
        DATABASE_URL=database,
        ENCRYPTION_KEY=settings.ENCRYPTION_KEY.hex(),
        JWT_SIGNING_KEY=settings.JWT_SIGNING_KEY.hex(),
        PROCTO_LOCAL_DIR=str(tmp_path / "local"),
        MEDIA_ROOT=str(tmp_path / "daphne-media"),
        **extra,
    )


def identity_check(port: int, exam_id: int, token: str, photo: bytes) -> requests.Response:
    return requests.post(
        f"http://127.0.0.1:{port}/api/exams/{exam_id}/identity-check",
        headers={"Authorization": f"Bearer {token}"},
        files={"liveCapture": ("capture.jpg", photo, "image/jpeg")},
        timeout=120,
    )


def maps_dlib(pid: int) -> bool:
    return "dlib" in Path(f"/proc/{pid}/maps").read_text()


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def test_a_large_photo_is_checked_in_a_worker_process_not_in_daphne(
    verified_stu, transactional_world, settings, tmp_path
):
    _, token = verified_stu
    port = free_port()
    with running(daphne_cmd(port), env=daphne_env(settings, tmp_path), log=tmp_path / "daphne.log") as daphne:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process=daphne)
        response = identity_check(port, transactional_world.physics.pk, token, ids.astronaut_phone_photo())
        assert response.status_code == 200, response.text
        assert response.json()["data"]["passed"] is True
        # The web process never loaded the face model: a process of its pool did.
        assert not maps_dlib(daphne.pid)
        assert any(maps_dlib(child) for child in children_of(daphne.pid))


def test_checks_beyond_the_pool_are_refused_busy_with_retry_after_and_the_rest_pass(
    verified_stu, transactional_world, settings, tmp_path
):
    _, token = verified_stu
    port = free_port()
    # One check running and one waiting; six phone-sized photos arrive together.
    env = daphne_env(settings, tmp_path, IDENTITY_WORKERS="1", IDENTITY_QUEUE="1")
    photo = ids.astronaut_phone_photo()
    with running(daphne_cmd(port), env=env, log=tmp_path / "daphne.log") as daphne:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process=daphne)
        with ThreadPoolExecutor(max_workers=6) as pool:
            responses = list(
                pool.map(
                    lambda _: identity_check(port, transactional_world.physics.pk, token, photo), range(6)
                )
            )
    passed = [r for r in responses if r.status_code == 200]
    busy = [r for r in responses if r.status_code == 503]
    assert len(passed) + len(busy) == 6, [r.text for r in responses]
    assert len(passed) >= 2 and all(r.json()["data"]["passed"] for r in passed)
    assert busy, "all six were analysed at once"
    for response in busy:
        assert response.headers["Retry-After"] == "5"
        error = response.json()["error"]
        assert error["code"] == "BUSY" and error["details"] == {"retryAfter": 5}
