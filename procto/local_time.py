"""One way to show a moment to a person: in their time zone, with the zone's name.

Times are stored in UTC. Pages, e-mails and the PDF show them through `local_datetime` ("Tue 8
Dec, 15:06 EST"; the year only when it is not this year) or, in a list of events of one sitting,
`local_clock` ("15:06:12", the same zone). The zone is the active one (the viewer's, activated per
request by accounts.middleware.TimeZoneMiddleware) unless a caller passes the recipient's.
Pages' scripts format the same way (static/js/local-time.js), from `time_zone_bootstrap`.
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import datetime, timedelta, tzinfo

from django.utils import timezone

UTC = zoneinfo.ZoneInfo("UTC")


def zone_named(name: str | None) -> zoneinfo.ZoneInfo | None:
    """The IANA zone called `name` (e.g. a browser's "America/New_York"), or None if there is none."""
    if not name or len(name) > 64 or name not in _zone_names():
        return None
    return zoneinfo.ZoneInfo(name)


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone_abbreviation(local: datetime) -> str:
    """The zone's name at that moment: "EST", "CET", "IST"; zones without a letter
    abbreviation get their offset ("UTC-03")."""
    name = local.tzname() or "UTC"
    return f"UTC{name}" if name[0] in "+-" else name


def local_datetime(moment: datetime | None, zone: tzinfo | None = None) -> str:
    """A moment as people read it, "Tue 8 Dec, 15:06 EST", in `zone` (default: the active
    zone); "—" for no moment."""
    if moment is None:
        return "—"
    local = timezone.localtime(moment, zone)
    day = f"{local:%a} {local.day} {local:%b}"
    if local.year != timezone.localtime(timezone.now(), zone).year:
        day += f" {local.year}"
    return f"{day}, {local:%H:%M} {zone_abbreviation(local)}"


def local_clock(moment: datetime | None, zone: tzinfo | None = None) -> str:
    """A clock time, "15:06:12", in `zone` (default: the active zone),
    for rows whose zone is said nearby."""
    if moment is None:
        return "—"
    return f"{timezone.localtime(moment, zone):%H:%M:%S}"


def zone_label(zone: tzinfo | None = None) -> str:
    """The zone as a heading says it: "America/New_York (EST)"."""
    zone = zone or timezone.get_current_timezone()
    return f"{zone} ({zone_abbreviation(timezone.localtime(timezone.now(), zone))})"


def time_zone_bootstrap(zone: tzinfo | None = None) -> dict:
    """What a page's scripts need to format as the server does: the zone's IANA name and the
    abbreviation of each of its UTC offsets (browsers name zones differently: "GMT+1" for CET)."""
    zone = zone or timezone.get_current_timezone()
    return {"timeZone": str(zone), "abbreviations": _abbreviations(str(zone), timezone.now().year)}


@functools.cache
def _abbreviations(name: str, year: int) -> dict[str, str]:
    zone = zoneinfo.ZoneInfo(name)
    start = datetime(year - 1, 1, 1, tzinfo=UTC)
    found: dict[str, str] = {}
    for week in range(0, 3 * 53):  # last year to next year, weekly: every offset in use
        local = (start + timedelta(weeks=week)).astimezone(zone)
        offset = int(local.utcoffset().total_seconds() // 60)
        found.setdefault(str(offset), zone_abbreviation(local))
    return found


def time_zone_context(request) -> dict:
    """Template context: the viewer's zone for base.html's bootstrap JSON."""
    return {"time_zone_bootstrap": time_zone_bootstrap()}
