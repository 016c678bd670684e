"""HTTPS for real: a student in Chromium reaches nginx terminating TLS in front of two daphne
nodes and two Celery workers (procto/tests/cluster.py runs deploy/nginx.conf and the compose
file's commands) and gets camera frames to the server over wss."""

from __future__ import annotations

import http.client
import os
import re
import ssl
import urllib.request

from accounts.tests.factories import DEFAULT_PASSWORD
from procto.tests.browser import BROWSER_TEST_MARKS, in_thread, log_in, wait_until
from procto.tests.cluster import cluster_running
from proctoring.stream_state import stream_stats
from sessions.models import ExamSession
from sessions.tests.test_exam_browser import midterm  # noqa: F401 (fixture)

pytestmark = BROWSER_TEST_MARKS


def _no_verify() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the drill's certificate is self-signed
    return context


def test_a_student_over_https_through_nginx_gets_camera_frames_to_the_server(
    tmp_path,
    browser,
    transactional_world,
    midterm,  # noqa: F811
):
    from django.db import connection

    database_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{connection.settings_dict['NAME']}"
    with cluster_running(
        tmp_path / "cluster", database_url=database_url, redis_url=os.environ["REDIS_URL"], migrate=False
    ) as cluster:
        # Plain HTTP only redirects; HTTPS answers with HSTS from Django behind nginx.
        plain = http.client.HTTPConnection("127.0.0.1", cluster.http_port, timeout=10)
        plain.request("GET", "/accounts/login/")
        redirect = plain.getresponse()
        assert redirect.status == 301
        assert redirect.getheader("Location") == f"{cluster.url}/accounts/login/"
        with urllib.request.urlopen(f"{cluster.url}/accounts/login/", context=_no_verify()) as page:  # noqa: S310
            assert page.status == 200
            assert "max-age=31536000" in page.headers["Strict-Transport-Security"]

        context = browser.new_context(ignore_https_errors=True, permissions=["camera", "microphone"])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        log_in(page, cluster.url, transactional_world.stu.email, DEFAULT_PASSWORD)
        cookies = {cookie["name"]: cookie for cookie in context.cookies()}
        assert cookies["sessionid"]["secure"] and cookies["csrftoken"]["secure"]

        page.locator(".exam-row", has_text=midterm.title).get_by_role("link", name="Begin").click()
        page.click("text=I agree, continue")
        page.get_by_role("link", name=re.compile("Continue")).wait_for(timeout=30_000)
        page.get_by_role("link", name=re.compile("Continue")).click()
        page.click("text=Start the exam now")
        page.wait_for_url(re.compile(r".*/take/$"))
        session = in_thread(ExamSession.objects.get, exam=midterm, student=transactional_world.stu)

        def frames_arrived():
            stats = in_thread(stream_stats, session.pk)
            return stats if (stats["frame:count"] or 0) >= 2 else None

        stats = wait_until(frames_arrived, timeout=40, what="camera frames through nginx over wss")
        assert stats["frame:count"] >= 2
        assert not errors, errors
        context.close()
        # The page's socket came with a single-use ticket in its URL: nginx logged the path only.
        # (nginx writes a socket's line when it closes.)
        log = cluster.work / "nginx" / "access.log"

        def socket_logged():
            return [line for line in log.read_text().splitlines() if " /ws/exam-sessions/" in line]

        socket_lines = wait_until(socket_logged, timeout=20, what="the socket's line in nginx's log")
        assert "ticket=" not in log.read_text(), socket_lines[:3]
