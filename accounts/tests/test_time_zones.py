"""Each user reads times in their own zone: their browser's at first, then the one they choose."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.middleware import BROWSER_ZONE_COOKIE
from procto.local_time import local_datetime

pytestmark = pytest.mark.django_db

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


def browse(client, user, browser_zone: str):
    client.force_login(user)
    client.cookies[BROWSER_ZONE_COOKIE] = browser_zone.replace("/", "%2F")  # as local-time.js sets it
    return client.get("/")


def test_a_users_first_page_takes_their_browsers_zone(client, student):
    assert student.time_zone is None
    response = browse(client, student, "America/New_York")
    student.refresh_from_db()
    assert student.time_zone == NEW_YORK
    assert b'"timeZone": "America/New_York"' in response.content  # the scripts' bootstrap


def test_a_zone_once_set_is_kept_whatever_browser_they_use_later(client, student):
    student.time_zone = NEW_YORK
    student.save()
    response = browse(client, student, "Asia/Tokyo")
    student.refresh_from_db()
    assert student.time_zone == NEW_YORK
    assert b'"timeZone": "America/New_York"' in response.content


def test_a_made_up_zone_from_the_browser_is_ignored(client, student):
    browse(client, student, "Mars/Olympus_Mons")
    student.refresh_from_db()
    assert student.time_zone is None


def test_the_dashboard_says_when_an_exam_closes_in_the_students_zone_with_its_name(world, client):
    closes = (timezone.now() + timedelta(hours=2)).replace(second=0, microsecond=0)
    world.physics.end_time = closes
    world.physics.save()
    world.stu.time_zone = NEW_YORK
    world.stu.save()
    client.force_login(world.stu)
    page = client.get("/").content.decode()
    expected = local_datetime(closes, NEW_YORK)  # "Tue 8 Dec, 15:06 EST"
    assert expected.endswith((" EST", " EDT"))
    assert f'closes <time datetime="{closes.isoformat()}">{expected}</time>' in page


def test_the_profile_page_changes_the_zone(client, student):
    client.force_login(student)
    client.post(
        "/accounts/profile/",
        {"first_name": "Stu", "last_name": "Stone", "institution": "", "time_zone": "Asia/Tokyo"},
    )
    student.refresh_from_db()
    assert student.time_zone == TOKYO


def test_the_api_keeps_iso_8601_utc_whatever_the_users_zone(world, api):
    world.stu.time_zone = TOKYO
    world.stu.save()
    api.force_authenticate(world.stu)
    session = world.stu_in_physics
    deadline = api.get(f"/api/exam-sessions/{session.pk}").json()["data"]["deadline"]
    assert deadline.endswith(("Z", "+00:00")) and parse_datetime(deadline) == session.deadline
