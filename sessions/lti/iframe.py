"""Procto inside the LMS's page (an iframe): who may frame it, and its cookies there.

Everything refuses framing (CONTENT_SECURITY_POLICY's `frame-ancestors 'none'`, X-Frame-Options
DENY) except:
- the LTI entry points (/lti/login, /lti/launch), which any registered, active platform may frame:
  before the launch is verified Procto cannot tell which one it is, and their pages (a cookie
  check, an error) offer nothing to click a student into;
- every page (but the admin) of a session that an LTI launch signed in, which the origins of that
  launch's platform may frame (LtiPlatform.frame_ancestors), as long as it stays active.

A third-party iframe gets its cookies only if they are `SameSite=None; Secure`. pylti1p3 sets its
state cookies that way over HTTPS; LtiIframeCookiesMiddleware does it for the session and CSRF
cookies of LTI-launched sessions only, when settings.LTI_IFRAME_COOKIES is on and the request came
over HTTPS. Everyone else keeps `SameSite=Lax`, which stops other sites from sending requests that
carry their session at all (a second line behind the CSRF token).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from sessions.models import LtiPlatform

# The session key that marks a session signed in by an LTI launch: the platform's id.
SESSION_PLATFORM = "lti_platform_id"


def launch_session_mark(request: HttpRequest, platform_id: int) -> None:
    """Remember, after login(), which platform launched this session (its pages may be framed
    there, and its cookies are made for the iframe)."""
    request.session[SESSION_PLATFORM] = platform_id


def launch_session_platform_id(request: HttpRequest) -> int | None:
    session = getattr(request, "session", None)
    return session.get(SESSION_PLATFORM) if session is not None else None


def lti_entry(view: Callable) -> Callable:
    """Marks an LTI entry point: any registered, active platform may frame its responses."""
    view.lti_entry = True
    return view


def is_framed_navigation(request: HttpRequest) -> bool:
    """The browser is loading this page into a frame (Fetch Metadata; Chrome 80+, Firefox 90+,
    Safari 16.4+ say so). A browser that does not send the header is taken to be a top window."""
    return request.headers.get("Sec-Fetch-Dest") in ("iframe", "frame")


def iframe_cookies_apply(request: HttpRequest) -> bool:
    """Whether this LTI session's cookies are made for a third-party iframe: browsers refuse
    `SameSite=None` without `Secure`, and `Secure` cookies are not stored from plain HTTP."""
    return bool(settings.LTI_IFRAME_COOKIES and request.is_secure())


def frame_ancestors(request: HttpRequest) -> list[str]:
    """The origins that may frame the response to `request`; none means frame-ancestors 'none'."""
    match = request.resolver_match
    if match is None or "admin" in match.namespaces:
        return []
    if getattr(match.func, "lti_entry", False):
        platforms = LtiPlatform.objects.filter(is_active=True)
    else:
        platform_id = launch_session_platform_id(request)
        if platform_id is None:
            return []
        platforms = LtiPlatform.objects.filter(pk=platform_id, is_active=True)
    fields = ("issuer", "auth_login_url", "frame_origins")
    return sorted({origin for platform in platforms.only(*fields) for origin in platform.frame_ancestors})


class LtiFramingMiddleware:
    """Lets the LMS frame the pages listed in the module docstring: the CSP's frame-ancestors
    replaced by its origins (django-csp's per-response `_csp_replace`), and X-Frame-Options left
    off, since DENY would contradict it and ALLOW-FROM is gone from browsers.

    Sits below CSPMiddleware and XFrameOptionsMiddleware (they read what it sets) and above
    ApplicationErrorMiddleware (an error page inside the LMS frame is shown, not blanked)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # Only documents are framed; JSON, images and files need no query for their origins.
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        origins = frame_ancestors(request)
        if origins:
            replaced = getattr(response, "_csp_replace", None) or {}
            response._csp_replace = {**replaced, "frame-ancestors": origins}
            response.xframe_options_exempt = True
        return response


class LtiIframeCookiesMiddleware:
    """`SameSite=None; Secure` on the session and CSRF cookies of an LTI-launched session (see
    iframe_cookies_apply). Sits above SessionMiddleware, so it sees the cookies that
    SessionMiddleware and CsrfViewMiddleware set on the response. A browser keeps the attributes of
    the last Set-Cookie, and login() (at the launch) sets both cookies anew."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if iframe_cookies_apply(request) and launch_session_platform_id(request) is not None:
            for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
                cookie = response.cookies.get(name)
                if cookie is not None:
                    cookie["samesite"] = "None"
                    cookie["secure"] = True
        return response
