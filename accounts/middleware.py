"""Each request runs in its viewer's time zone, so pages show times as they read them."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.time_zones import user_time_zone_fill, zone_of
from procto.local_time import zone_named

# Set by static/js/local-time.js on every page: the browser's own IANA zone.
BROWSER_ZONE_COOKIE = "browser_time_zone"


class TimeZoneMiddleware:
    """Activates the signed-in user's zone (filled from their browser's on their first page), or
    for a visitor the browser's; after AuthenticationMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        browser_zone = unquote(request.COOKIES.get(BROWSER_ZONE_COOKIE, ""))
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            user_time_zone_fill(user=user, browser_zone=browser_zone)
            zone = zone_of(user)
        else:
            zone = zone_named(browser_zone) or zone_of(None)
        timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
