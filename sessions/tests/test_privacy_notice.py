"""The privacy notice (consent page) states the retention periods the product applies: the
site's from the settings, or the exam's own, for what this exam records of this student."""

from __future__ import annotations

import re

import pytest

from exams.models import Accommodation

pytestmark = pytest.mark.django_db


def stated_periods(client, exam) -> dict[str, str]:
    """What the page's retention list says, by kind: {"frames": "30 days", ...}."""
    page = client.get(f"/exams/{exam.pk}/consent/")
    assert page.status_code == 200
    items = re.findall(r'<li data-kind="(\w+)">(.*?)</li>', page.content.decode(), re.S)
    return {kind: text.rsplit(":", 1)[1].strip(" .") for kind, text in items}


@pytest.fixture
def site_periods(settings):
    settings.DATA_RETENTION_DAYS = {
        "frames": 30,
        "screenshots": 10,
        "audio": 14,
        "room_scans": 21,
        "identity": 7,
        "answers": 365,
    }
    return settings.DATA_RETENTION_DAYS


def test_the_notice_states_the_sites_periods_and_follows_a_change_of_setting(
    client, world, site_periods, settings
):
    client.force_login(world.stu)
    assert stated_periods(client, world.physics) == {
        "frames": "30 days",
        "audio": "14 days",
        "room_scans": "21 days",
        "identity": "7 days",
        "answers": "365 days",
    }
    settings.DATA_RETENTION_DAYS = site_periods | {"frames": 1, "answers": 730}
    stated = stated_periods(client, world.physics)
    assert (stated["frames"], stated["answers"]) == ("1 day", "730 days")


def test_the_notice_states_when_replaced_identity_photos_go(client, world, site_periods, settings):
    client.force_login(world.stu)
    page = client.get(f"/exams/{world.physics.pk}/consent/").content.decode()
    assert '<span id="identity-history-days">7 days</span>' in page
    settings.DATA_RETENTION_DAYS = site_periods | {"identity": 90}
    page = client.get(f"/exams/{world.physics.pk}/consent/").content.decode()
    assert '<span id="identity-history-days">90 days</span>' in page


def test_the_notice_states_the_exams_own_periods(client, world, site_periods):
    world.physics.retention_room_scans_days = 3
    world.physics.retention_audio_days = 0
    world.physics.save()
    client.force_login(world.stu)
    stated = stated_periods(client, world.physics)
    assert stated["room_scans"] == "3 days"
    assert stated["audio"] == "deleted as soon as your result is final"
    assert stated["frames"] == "30 days"


def test_the_notice_leaves_out_what_the_exam_does_not_record(client, world, site_periods):
    # Chemistry is medium security: no identity check, no room scan.
    client.force_login(world.cat)
    assert set(stated_periods(client, world.chemistry)) == {"frames", "audio", "answers"}
    # A student exempt from camera and microphone: only their answers are kept.
    Accommodation.objects.create(exam=world.physics, student=world.sam, media_exempt=True)
    client.force_login(world.sam)
    assert set(stated_periods(client, world.physics)) == {"answers"}


def test_the_notice_says_nothing_goes_while_a_review_is_open(client, world, site_periods):
    client.force_login(world.stu)
    page = client.get(f"/exams/{world.physics.pk}/consent/").content.decode()
    assert (
        "while a proctor&#x27;s review of your session is open" in page
        or "review of your session is open" in page
    )
    assert "Notice version 2026-12" in page
