"""One way to show a moment: the viewer's zone, its name, the same words on every page."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime

import pytest
import time_machine
from django.utils import timezone

from procto.local_time import local_clock, local_datetime, time_zone_bootstrap, zone_label, zone_named

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
MOMENT = datetime(2026, 12, 8, 20, 6, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def in_2026():
    with time_machine.travel(datetime(2026, 6, 1, tzinfo=UTC), tick=False):
        yield


def test_a_moment_reads_as_day_time_and_the_zones_abbreviation_in_the_given_zone():
    assert local_datetime(MOMENT, NEW_YORK) == "Tue 8 Dec, 15:06 EST"
    assert local_datetime(datetime(2026, 7, 1, 16, tzinfo=UTC), NEW_YORK) == "Wed 1 Jul, 12:00 EDT"
    assert local_clock(MOMENT, NEW_YORK) == "15:06:30"


def test_the_active_zone_is_the_default():
    with timezone.override(zoneinfo.ZoneInfo("Europe/Berlin")):
        assert local_datetime(MOMENT) == "Tue 8 Dec, 21:06 CET"
        assert zone_label() == "Europe/Berlin (CEST)"  # the fake clock's June


def test_another_years_moment_says_its_year():
    assert local_datetime(datetime(2025, 12, 8, 20, 6, tzinfo=UTC), NEW_YORK) == "Mon 8 Dec 2025, 15:06 EST"


def test_a_zone_without_a_letter_abbreviation_is_named_by_its_offset():
    assert local_datetime(MOMENT, zoneinfo.ZoneInfo("America/Sao_Paulo")) == "Tue 8 Dec, 17:06 UTC-03"


def test_no_moment_is_a_dash():
    assert local_datetime(None) == "—" and local_clock(None) == "—"


def test_pages_scripts_get_the_zone_and_the_abbreviation_of_each_of_its_offsets():
    assert time_zone_bootstrap(NEW_YORK) == {
        "timeZone": "America/New_York",
        "abbreviations": {"-300": "EST", "-240": "EDT"},
    }


@pytest.mark.parametrize("name", ["", None, "Mars/Olympus_Mons", "../../etc/passwd", "x" * 100])
def test_only_real_zone_names_are_zones(name):
    assert zone_named(name) is None


def test_a_browsers_zone_name_is_a_zone():
    assert zone_named("America/New_York") == NEW_YORK
