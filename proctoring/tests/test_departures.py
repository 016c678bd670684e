"""A page that goes away is a departure only if it does not come back reloaded.

The page that goes away cannot tell a reload from leaving (`pagehide` is the same); the page that
loads next can. So the departure waits as a record (info) for DEPARTURE_GRACE, and the reloaded
page's `page-reload` makes it a reload record: no alert, no risk, nothing on the monitors.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from procto.errors import ApplicationError
from proctoring.actions import event_review
from proctoring.consumers import _events_since
from proctoring.errors import InvalidEvent
from proctoring.models import ProctoringEvent
from proctoring.risk import WEIGHTS
from proctoring.selectors import live_session_cards, recent_alerts_for
from proctoring.services import DEPARTURE_GRACE, departures_settle, event_record_client
from sessions.realtime import exam_monitor_group

pytestmark = pytest.mark.django_db


@pytest.fixture
def monitor():
    """A monitor page's channel in the exam's monitor group: `heard()` is what reached it."""
    layer = get_channel_layer()
    channels: dict = {}

    def watch(exam_id: int) -> None:
        channels["page"] = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(exam_monitor_group(exam_id), channels["page"])

    def heard() -> list[dict]:
        async def drain():
            messages = []
            while True:
                try:
                    messages.append(await asyncio.wait_for(layer.receive(channels["page"]), timeout=0.3))
                except TimeoutError:
                    return messages

        return async_to_sync(drain)()

    return watch, heard


def leave(session, seq: int, **details):
    # As the page sent it before this change too: "medium" from the browser.
    return event_record_client(
        session_id=session.pk, student=session.student, type="page-leave", severity="medium",
        details=details, client_seq=seq,
    )  # fmt: skip


def reloaded(session, seq: int, leave_seq: int, away_ms: int = 900):
    return event_record_client(
        session_id=session.pk, student=session.student, type="page-reload",
        details={"awayMs": away_ms, "leaveSeq": leave_seq}, client_seq=seq,
    )  # fmt: skip


def later(seconds: float):
    return timezone.now() + timedelta(seconds=seconds)


def test_a_reloaded_exam_page_is_one_info_record_and_never_an_alert(
    world, monitor, django_capture_on_commit_callbacks
):
    session = world.cat_in_chemistry  # medium security
    watch, heard = monitor
    watch(session.exam_id)
    with django_capture_on_commit_callbacks(execute=True):
        leave(session, 10, hiddenMs=3)
        reloaded(session, 11, leave_seq=10)
        settled = departures_settle(now=later(DEPARTURE_GRACE.total_seconds() + 60))

    event = ProctoringEvent.objects.get(session=session)
    assert (event.type, event.severity, event.review_status) == ("page-reload", "info", "none")
    assert event.details == {"hiddenMs": 3, "awayMs": 900, "leaveSeq": 10}
    assert settled == 0
    session.refresh_from_db()
    assert session.risk_score == 0
    assert heard() == []  # no alert reached the monitors
    cards = live_session_cards(user=world.ada, exam_id=session.exam_id)
    assert [c["open_alert_count"] for c in cards if str(c["id"]) == str(session.pk)] == [0]


def test_a_page_that_does_not_come_back_reloaded_is_a_page_leave_alert_after_the_grace(
    world, monitor, django_capture_on_commit_callbacks
):
    session = world.cat_in_chemistry
    watch, heard = monitor
    watch(session.exam_id)
    with django_capture_on_commit_callbacks(execute=True):
        leave(session, 20, hiddenMs=5)
    pending = ProctoringEvent.objects.get(session=session)
    assert (pending.type, pending.severity, pending.review_status) == ("page-leave", "info", "none")
    assert ProctoringEvent.objects.get(session=session).session.risk_score == 0

    with django_capture_on_commit_callbacks(execute=True):
        assert departures_settle(now=later(DEPARTURE_GRACE.total_seconds() - 5)) == 0
        assert departures_settle(now=later(DEPARTURE_GRACE.total_seconds() + 1)) == 1
    pending.refresh_from_db()
    assert (pending.type, pending.severity, pending.review_status) == ("page-leave", "medium", "open")
    session.refresh_from_db()
    assert session.risk_score == WEIGHTS["medium"]
    # The monitors heard of it once, when it was settled: not while it waited.
    alerts = [m["event"] for m in heard() if m["type"].startswith("proctoring.alert")]
    assert [(a["id"], a["type"], a["severity"]) for a in alerts] == [(pending.pk, "page-leave", "medium")]
    # Reloading later than the grace does not take the alert back: the student was away that long.
    reloaded(session, 21, leave_seq=20, away_ms=45_000)
    assert list(ProctoringEvent.objects.order_by("pk").values_list("type", "severity")) == [
        ("page-leave", "medium"),
        ("page-reload", "info"),
    ]


def test_a_reload_report_that_arrives_before_its_departure_takes_it_in(world):
    session = world.cat_in_chemistry
    # The departure went by a keepalive request, slower than the new page's socket.
    first = reloaded(session, 31, leave_seq=30)
    assert leave(session, 30, hiddenMs=2).pk == first.pk
    assert departures_settle(now=later(3600)) == 0
    assert list(ProctoringEvent.objects.values_list("type", "severity")) == [("page-reload", "info")]


def test_departures_and_reloads_sent_again_after_a_reconnect_are_stored_once(world):
    session = world.cat_in_chemistry
    for _ in range(3):
        leave(session, 40)
        reloaded(session, 41, leave_seq=40)
    assert ProctoringEvent.objects.filter(session=session).count() == 1
    assert departures_settle(now=later(3600)) == 0


def test_a_browser_can_neither_make_an_alert_a_record_nor_a_record_an_alert(world):
    session = world.cat_in_chemistry
    with pytest.raises(InvalidEvent):
        event_record_client(
            session_id=session.pk, student=session.student, type="tab-switch", severity="info"
        )
    event = event_record_client(
        session_id=session.pk, student=session.student, type="page-reload", severity="high"
    )
    assert (event.severity, event.review_status) == ("info", "none")


def test_a_record_is_not_reviewed_nor_sent_to_monitors_that_catch_up(world):
    session = world.cat_in_chemistry
    record = reloaded(session, 51, leave_seq=50)
    alert = event_record_client(session_id=session.pk, student=session.student, type="copy", client_seq=52)
    with pytest.raises(ApplicationError) as refused:
        event_review(actor=world.ada, event_id=record.pk, status="confirmed")
    assert refused.value.code == "INVALID_REVIEW"
    # The socket's catch-up query itself (its async wrapper would close this test's connection).
    assert [e["id"] for e in _events_since.func(None, 0)] == [alert.pk]
    assert [e["id"] for e in recent_alerts_for(user=world.ada)] == [alert.pk]
