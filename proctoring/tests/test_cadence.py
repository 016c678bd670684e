"""Graceful overload (issue 15, item 5): when the workers fall behind, the least risky sessions
send pictures less often, are told so, keep it across a reconnect, show as slowed on the monitor,
and get their cadence back, most risky first, when the workers catch up."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.template.loader import render_to_string

from procto.metrics import metric_key
from proctoring import cadence
from proctoring.selectors import live_session_cards
from proctoring.stream_state import cadence_key
from proctoring.tests.test_consumers import ORIGIN, open_stream, reply
from proctoring.tests.test_monitor_page import event
from sessions.tests.factories import ExamSessionFactory

pytestmark = pytest.mark.django_db(transaction=True)


def behind(seconds: float) -> None:
    cache.set(metric_key("frame_lag_seconds"), seconds, None)


def caught_up_for_a_while() -> None:
    """The workers catch up; the governor waits RESTORE_AFTER_CALM_STEPS steps before giving back."""
    behind(0.5)
    for _ in range(cadence.RESTORE_AFTER_CALM_STEPS - 1):
        assert cadence.cadence_adjust() == {"slowed": 0, "restored": 0}


def slowed_ids(sessions) -> set:
    return {s.pk for s in sessions if cache.get(cadence_key(s.pk))}


def test_the_least_risky_sessions_are_slowed_first_and_the_riskiest_get_their_cadence_back_first(world):
    chemistry = world.cat_in_chemistry  # medium security, risk 0
    history = world.hal_in_history  # medium security
    stu, sam = world.stu_in_physics, world.sam_in_physics  # high security
    for session, risk in ((history, 40), (stu, 10), (sam, 70)):
        session.risk_score = risk
        session.save(update_fields=["risk_score"])
    sessions = [chemistry, history, stu, sam]

    behind(8.0)
    assert cadence.cadence_adjust() == {"slowed": 1, "restored": 0}  # a quarter of four
    assert slowed_ids(sessions) == {chemistry.pk}  # medium before high, lowest risk first
    assert cache.get(cadence_key(chemistry.pk)) == 10_000  # medium: every 5 s -> every 10 s
    cadence.cadence_adjust()
    cadence.cadence_adjust()
    assert slowed_ids(sessions) == {chemistry.pk, history.pk, stu.pk}  # then high, risk 10 before 70

    caught_up_for_a_while()  # then the riskiest slowed session first
    assert cadence.cadence_adjust() == {"slowed": 0, "restored": 1}
    assert slowed_ids(sessions) == {chemistry.pk, history.pk}
    cadence.cadence_adjust()
    assert slowed_ids(sessions) == {chemistry.pk}


def test_flagged_sessions_and_sessions_with_an_alert_to_review_are_never_slowed(world):
    flagged, alerted = world.cat_in_chemistry, world.hal_in_history
    flagged.flagged = True
    flagged.save(update_fields=["flagged"])
    event(alerted, "tab-switch", "medium")
    behind(8.0)
    for _ in range(4):
        cadence.cadence_adjust()
    assert slowed_ids([flagged, alerted, world.stu_in_physics, world.sam_in_physics]) == {
        world.stu_in_physics.pk,
        world.sam_in_physics.pk,
    }
    # A slowed session that raises an alert gets its cadence back at once, however busy.
    event(world.stu_in_physics)
    assert cadence.cadence_adjust()["restored"] == 1
    assert not cache.get(cadence_key(world.stu_in_physics.pk))


def test_still_behind_with_everyone_slowed_the_governor_slows_them_again_and_gives_back_a_step_at_a_time(
    world,
):
    # A class of 300 on two cores stayed 10 s behind with everyone it may slow sending every
    # second cadence (docs/BENCHMARKS.md): one step was not enough.
    chemistry, history = world.cat_in_chemistry, world.hal_in_history  # medium: every 5 s
    stu, sam = world.stu_in_physics, world.sam_in_physics  # high: every 2 s
    for session, risk in ((history, 40), (stu, 10)):
        session.risk_score = risk
        session.save(update_fields=["risk_score"])
    event(sam, "tab-switch", "medium")  # an alert to review: never slowed
    behind(8.0)
    for _ in range(3):
        cadence.cadence_adjust()
    assert [cache.get(cadence_key(s.pk)) for s in (chemistry, history, stu)] == [10_000, 10_000, 4_000]
    assert cadence.cadence_adjust() == {"slowed": 1, "restored": 0}  # still behind: again
    # Every fourth cadence where pictures stay at most 8 s apart (high); medium stays at 10 s.
    assert [cache.get(cadence_key(s.pk)) for s in (chemistry, history, stu)] == [10_000, 10_000, 8_000]
    assert cadence.cadence_adjust() == {"slowed": 0, "restored": 0}  # that is the most
    assert not cache.get(cadence_key(sam.pk))

    caught_up_for_a_while()  # then back a step at a time, the riskiest (high security) first
    assert cadence.cadence_adjust() == {"slowed": 0, "restored": 1}
    assert cache.get(cadence_key(stu.pk)) == 4_000
    for _ in range(3):
        cadence.cadence_adjust()
    assert slowed_ids([chemistry, history, stu, sam]) == set()


def test_a_session_slowed_before_its_exam_changed_level_is_still_given_back(world):
    session = world.stu_in_physics
    cache.set(cadence_key(session.pk), 4_000, 120)  # slowed at high: every 4 s
    session.exam.security_level = "low"  # every 10 s: 4 s would read as "not slowed"
    session.exam.save(update_fields=["security_level"])
    caught_up_for_a_while()
    for _ in range(4):
        cadence.cadence_adjust()
    assert not cache.get(cadence_key(session.pk))


def test_a_session_given_back_its_cadence_gets_the_small_face_search_at_once(world):
    from proctoring.stream_state import magnified_key, small_face_key

    session = world.stu_in_physics
    cache.set(cadence_key(session.pk), 8_000, 120)
    cache.set(magnified_key(session.pk), 1, 23)  # the slowed search's long wait
    cache.set(small_face_key(session.pk), 1, 46)
    event(session)  # an alert to review: its cadence back at once
    assert cadence.cadence_adjust()["restored"] == 1
    assert cache.get(magnified_key(session.pk)) is None
    assert cache.get(small_face_key(session.pk)) is None


def test_a_calm_step_between_busy_ones_gives_nothing_back(world):
    # Giving back at the first calm step swung a class of 300 on two cores between 0.4 s and 10 s
    # behind every half minute (docs/BENCHMARKS.md).
    behind(8.0)
    cadence.cadence_adjust()
    for lag in (0.5, 0.5, 2.0, 0.5, 0.5):
        behind(lag)
        assert cadence.cadence_adjust()["restored"] == 0
    assert cadence.cadence_adjust()["restored"] == 1  # the third calm step in a row


def test_a_class_within_capacity_is_never_slowed(world):
    behind(1.5)
    assert cadence.cadence_adjust() == {"slowed": 0, "restored": 0}
    behind(0.0)
    assert cadence.cadence_adjust() == {"slowed": 0, "restored": 0}


async def test_the_slowed_page_is_told_keeps_its_cadence_on_reconnect_and_the_monitor_shows_it(world):
    session = world.cat_in_chemistry  # medium: a picture every 5 s; the class's least risky
    hal = world.hal_in_history
    hal.risk_score = 20
    await sync_to_async(hal.save)(update_fields=["risk_score"])
    stream = await open_stream(world.cat, session.pk)
    await stream.send_to(text_data=json.dumps({"type": "hello", "lastFrameSeq": 0, "lastAudioSeq": 0}))
    assert (await reply(stream))["frameIntervalMs"] == 5_000
    ticket = await sync_to_async(_ticket)(world.tess)
    from channels.testing import WebsocketCommunicator

    from procto.asgi import application

    monitor = WebsocketCommunicator(application, f"/ws/monitor/?ticket={ticket}", headers=[ORIGIN])
    assert (await monitor.connect(timeout=5))[0]
    await _drain(monitor)

    await sync_to_async(behind)(8.0)
    await sync_to_async(cadence.cadence_adjust)()
    assert await reply(stream) == {"type": "cadence", "frameIntervalMs": 10_000, "slowed": True}
    seen = await _next_of(monitor, "cadence")
    assert seen["session"] == {"id": str(session.pk), "frameIntervalMs": 10_000, "slowed": True}

    # A page that reconnects is welcomed at the slowed cadence, not its level's.
    await stream.disconnect()
    stream = await open_stream(world.cat, session.pk)
    await stream.send_to(text_data=json.dumps({"type": "hello", "lastFrameSeq": 0, "lastAudioSeq": 0}))
    assert (await reply(stream))["frameIntervalMs"] == 10_000

    # The proctor's card says so, on the first paint as on the live page.
    cards = await sync_to_async(live_session_cards)(user=world.tess)
    card = next(c for c in cards if c["id"] == str(session.pk))
    assert card["slowed_frame_interval_ms"] == 10_000
    html = await sync_to_async(render_to_string)("proctoring/monitor_card.html", {"card": card})
    assert "Slowed · a picture every 10 s" in html

    # The workers caught up: the page gets its cadence back.
    for other in (world.hal_in_history, world.stu_in_physics, world.sam_in_physics):
        await sync_to_async(cache.set)(cadence_key(other.pk), None)
    await sync_to_async(caught_up_for_a_while)()
    await sync_to_async(cadence.cadence_adjust)()
    assert await reply(stream) == {"type": "cadence", "frameIntervalMs": 5_000, "slowed": False}
    assert (await _next_of(monitor, "cadence"))["session"]["slowed"] is False
    await stream.disconnect()
    await monitor.disconnect()


def _ticket(user) -> str:
    from accounts import services as account_services

    return account_services.ws_ticket_issue(user=user, login_id="t")


async def _drain(socket) -> None:
    while not await socket.receive_nothing(timeout=0.5):
        await socket.receive_from()


async def _next_of(socket, kind: str) -> dict:
    for _ in range(20):
        message = json.loads(await socket.receive_from(timeout=5))
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind} message")


def test_exam_sessions_that_are_not_proctored_are_left_alone(world):
    unproctored = ExamSessionFactory(exam=world.chemistry, student=world.sid, attempt=1, media_exempt=True)
    behind(8.0)
    for _ in range(6):
        cadence.cadence_adjust()
    assert not cache.get(cadence_key(unproctored.pk))


@pytest.mark.needs_redis
def test_the_lag_an_overload_left_behind_lapses_within_half_a_minute(world, settings, tmp_path):
    """The workers' lag gauge used to be kept for ever: an overload that ended with late frames
    looked like one to the next class, whose first governor step slowed a quarter of it."""
    import time

    from proctoring import pipeline
    from proctoring.tests.media import webcam_jpeg

    settings.MEDIA_ROOT = tmp_path
    late = int((time.time() - 8) * 1000)  # a frame captured 8 s ago, as under overload
    pipeline.frame_analyse(session_id=world.cat_in_chemistry.pk, seq=1, captured_ms=late, jpeg=webcam_jpeg())
    assert cache.get(metric_key("frame_lag_seconds")) > cadence.OVERLOAD_LAG_SECONDS
    assert 0 < cache.ttl(metric_key("frame_lag_seconds")) <= pipeline.LAG_GAUGE_SECONDS


def test_a_slowed_session_is_not_called_lost_between_two_of_its_pictures(world):
    import time

    from proctoring.heartbeat import stream_heartbeats_check
    from proctoring.stream_state import last_at_key, unmonitored_key

    session = world.stu_in_physics  # high: lost after three 2 s cadences without media
    cache.set(last_at_key(session.pk, "frame"), time.time() - 10, 600)  # no microphone, no audio
    cache.set(cadence_key(session.pk), 8_000, 120)  # slowed: a picture every 8 s
    stream_heartbeats_check()
    assert cache.get(unmonitored_key(session.pk)) is False
    cache.delete(cadence_key(session.pk))
    stream_heartbeats_check()
    assert cache.get(unmonitored_key(session.pk)) is True
