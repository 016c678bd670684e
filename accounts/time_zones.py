"""Each user's time zone: which one to show them times in, and filling it from their browser."""

from __future__ import annotations

from datetime import tzinfo

from django.conf import settings

from accounts.models import User
from procto.local_time import zone_named


def zone_of(user: User | None) -> tzinfo:
    """The zone `user` reads times in: theirs, or the server's until their browser told us."""
    return (user.time_zone if user is not None else None) or zone_named(settings.TIME_ZONE)


def user_time_zone_fill(*, user: User, browser_zone: str | None) -> bool:
    """Give `user` their browser's zone (an IANA name) if they have none yet; True if it did.

    Side effect: one UPDATE of the user's row, only the first time. An unknown name is ignored.
    """
    zone = zone_named(browser_zone)
    if user.time_zone is not None or zone is None:
        return False
    user.time_zone = zone
    User.objects.filter(pk=user.pk, time_zone="").update(time_zone=zone)  # "" is none (the field's)
    return True
