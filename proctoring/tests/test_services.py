"""Every proctoring event is recorded by one service: stored once, on the session's risk, pushed live.

Browser events (tab switches...) count towards the risk as the workers' detections do, by the
formula of proctoring/risk.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import grimp
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import services as account_services
from procto.asgi import application
from procto.celery import app as celery_app
from proctoring import notifications
from proctoring.models import ProctoringEvent
from proctoring.risk import WEIGHTS
from proctoring.services import event_record, event_record_client, session_lock

pytestmark = pytest.mark.django_db


def test_twenty_tab_switches_raise_the_risk_by_the_formula_and_flag_the_session(api, world):
    student = world.cat
    session = world.cat_in_chemistry  # medium security
    api.force_authenticate(student)
    flag_at = django_settings.PROCTORING_POLICY["medium"]["flag_risk"]
    for n in range(1, 21):
        response = api.post(
            f"/api/exam-sessions/{session.pk}/log-event",
            {"type": "tab-switch", "severity": "medium", "details": {"durationMs": 2000}, "seq": n},
            format="json",
        )
        assert response.status_code == 201
        session.refresh_from_db()
        # Each instant medium event adds its weight: min(100, n x 5).
        assert session.risk_score == min(100.0, n * WEIGHTS["medium"])
        assert session.flagged == (session.risk_score >= flag_at)
    assert (session.risk_score, session.flagged) == (100.0, True)


def test_a_resent_browser_event_counts_once_in_the_risk(world):
    student = world.cat
    session = world.cat_in_chemistry  # medium security
    for _ in range(3):  # the page re-sends an event whose ack it lost
        event_record_client(
            session_id=session.pk, student=student, type="tab-switch", severity="medium", client_seq=7
        )
    session.refresh_from_db()
    assert ProctoringEvent.objects.filter(session=session).count() == 1
    assert session.risk_score == WEIGHTS["medium"]


def test_a_write_refused_for_another_reason_than_its_number_is_an_error_not_a_duplicate(world):
    session = world.cat_in_chemistry
    with transaction.atomic():
        locked = session_lock(session.pk)
        earlier, _ = event_record(session=locked, type="paste", source="client", occurred_at=timezone.now())
        # No occurred_at: NOT NULL refuses the row (as SQLite's JSON check refused NaN details). It
        # was read as "already stored": the session's other event came back as this one, or, with
        # a number, DoesNotExist crashed the stream socket.
        for number in (None, 8):
            with pytest.raises(IntegrityError), transaction.atomic():
                event_record(
                    session=locked, type="copy", source="client", occurred_at=None, client_seq=number
                )
    assert list(ProctoringEvent.objects.values_list("pk", flat=True)) == [earlier.pk]


def test_the_system_warning_tells_the_student_what_to_stop(world, django_capture_on_commit_callbacks):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from proctoring.conditions import condition_get
    from sessions.realtime import session_group

    student = world.cat
    session = world.cat_in_chemistry  # medium security: warned at risk 30, six tab switches
    layer = get_channel_layer()
    page = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(session_group(session.pk), page)

    async def next_notice():
        return await asyncio.wait_for(layer.receive(page), timeout=5)

    switches = int(django_settings.PROCTORING_POLICY["medium"]["warn_risk"] / WEIGHTS["medium"])
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(1, switches + 1):
            event_record_client(
                session_id=session.pk, student=student, type="tab-switch", severity="medium", client_seq=n
            )
    notice = async_to_sync(next_notice)()["message"]
    assert notice["type"] == "warning" and notice["from"] == "system"
    # Tab switches: told to stay on the page, not to face the camera.
    assert notice["message"] == f"{condition_get('tab-switch').warning} Your proctor has been notified."


def test_a_browser_event_without_a_severity_has_its_conditions(api, world):
    student = world.cat
    session = world.cat_in_chemistry  # medium security
    api.force_authenticate(student)
    url = f"/api/exam-sessions/{session.pk}/log-event"
    assert api.post(url, {"type": "second-screen"}, format="json").status_code == 201
    session.refresh_from_db()
    assert ProctoringEvent.objects.get(session=session).severity == "high"
    assert session.risk_score == WEIGHTS["high"]


@pytest.mark.django_db(transaction=True)
async def test_a_tab_switch_on_the_stream_socket_raises_the_risk(world):
    student = world.cat
    session = world.cat_in_chemistry  # medium security
    ticket = await database_sync_to_async(account_services.ws_ticket_issue)(user=student, login_id="t")
    socket = WebsocketCommunicator(
        application,
        f"/ws/exam-sessions/{session.pk}/stream/?ticket={ticket}",
        headers=[(b"origin", b"http://127.0.0.1:8000")],
    )
    assert (await socket.connect(timeout=5))[0]
    event = {"type": "event", "seq": 1, "event": {"type": "tab-switch", "severity": "medium"}}
    await socket.send_to(text_data=json.dumps(event))
    assert json.loads(await socket.receive_from(timeout=5)) == {"type": "event-ack", "seq": 1}
    await socket.disconnect()
    await database_sync_to_async(session.refresh_from_db)()
    assert session.risk_score == WEIGHTS["medium"]


def test_a_critical_browser_event_counts_but_sends_no_email(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    student = world.cat
    session = world.cat_in_chemistry  # medium security
    with django_capture_on_commit_callbacks(execute=True):
        event_record_client(session_id=session.pk, student=student, type="second-screen", severity="critical")
    session.refresh_from_db()
    assert session.risk_score == WEIGHTS["critical"]
    assert mailoutbox == []


def test_the_critical_alert_task_is_found_by_the_name_notifications_queue_it_under():
    from proctoring import tasks

    assert tasks.critical_alert_notify.name == notifications.NOTIFY_TASK
    assert notifications.NOTIFY_TASK in celery_app.tasks


def test_every_process_knows_the_tasks_it_may_queue_by_name():
    # A web process, a management command: Django set up, no worker, nothing importing the tasks
    # on purpose. Celery's send_task fallback for an unknown name ignores eager mode and tries a
    # broker, so an e-mail queued by name from there would be lost.
    code = (
        "import django; django.setup(); import procto.urls; from procto.celery import app; "
        "import sys; names = [n for n in app.tasks if n.startswith(('proctoring.', 'sessions.'))]; "
        "print(' '.join(sorted(names)))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "procto.settings"}
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    names = out.stdout.split()
    assert notifications.NOTIFY_TASK in names
    assert "proctoring.tasks.frame_analyse" in names
    assert "sessions.tasks.exam_sessions_expire_overdue" in names


def test_recording_an_event_does_not_lead_back_to_the_tasks_that_record_events():
    # tasks -> pipeline/heartbeat -> detections -> services -> notifications, never back to tasks
    # (not even inside a function: grimp counts those imports too).
    graph = grimp.build_graph("proctoring")
    for module in ("proctoring.detections", "proctoring.services", "proctoring.notifications"):
        assert graph.find_shortest_chain(importer=module, imported="proctoring.tasks") is None
