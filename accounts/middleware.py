"""Each request runs in its viewer's time zone and language, so pages show times as they read them
and words in their language."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

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


class UserLanguageMiddleware:
    """Speaks the signed-in user's own language (User.language), whatever the browser asks for;
    without one (or for a visitor) LocaleMiddleware's choice stands: the picker's cookie, else the
    browser's Accept-Language. After AuthenticationMiddleware, which finds the user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        language = user_language(user)
        if language and language != getattr(request, "LANGUAGE_CODE", None):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


def user_language(user: object) -> str:
    """The user's chosen language, if any and still one Procto speaks; else ""."""
    language = getattr(user, "language", "") if getattr(user, "is_authenticated", False) else ""
    return language if language in dict(settings.LANGUAGES) else ""
