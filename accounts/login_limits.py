"""Failed logins, throttled by django-axes per (e-mail, client address) pair, with growing delays.

Locking an e-mail address (or an address) as a whole made the throttle a weapon: anyone could
lock a student out by typing their e-mail five times, or lock a whole school behind one NAT
address. A pair only ever locks itself: a correct password from an address that has not failed
for that account always gets in, and one student's typos never touch a classmate.

Axes stores the failures (accounts of failed logins in the admin: Access attempts, Access
failures) and consults the callables below, named in settings (AXES_*):

- `attempt_username`: the e-mail of an attempt, stripped and lowercased (logins are
  case-insensitive, so "Stu@x" and "stu@x" are one account, as for the login itself);
- `client_address`: REMOTE_ADDR, which daphne --proxy-headers sets from nginx's X-Forwarded-For
  (the address DRF's throttles and the join-code limits use too);
- `cool_off`: how long a pair's failures count. Below LOGIN_FAILURES_BEFORE_DELAY failures, they
  are remembered for LOGIN_FAILURE_MEMORY_SECONDS; from then on each failure locks the pair for
  LOGIN_FIRST_DELAY_SECONDS, doubling with every further failure up to LOGIN_MAX_DELAY_SECONDS;
- `lockout_response`: the 429 with Retry-After that axes' middleware (`LockoutMiddleware`) makes
  of a locked page login (the API raises AccountLocked, which carries the same Retry-After).
"""

from __future__ import annotations

import math
from datetime import timedelta

from asgiref.sync import sync_to_async
from axes.helpers import get_client_username, get_lockout_response
from axes.middleware import AxesMiddleware
from axes.models import AccessAttempt, AccessAttemptExpiration
from axes.signals import user_locked_out
from django.conf import settings
from django.db.models import Max, Sum
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import ngettext

# Where attempt_username leaves the e-mail of the attempt in progress: axes asks for the cool-off
# with the request alone, and the cool-off depends on the pair's failures.
_USERNAME_ATTR = "procto_login_username"


def attempt_username(request: HttpRequest | None, credentials: dict | None) -> str | None:
    """The account an attempt is for. Our services pass `email=`; Django's admin login form and
    the test client pass `username=`; axes' own lookups pass the request alone."""
    credentials = credentials or {}
    value = credentials.get("email") or credentials.get("username")
    if value is None and request is not None:
        return getattr(request, _USERNAME_ATTR, None)
    username = str(value).strip().lower() or None
    if request is not None and credentials:
        setattr(request, _USERNAME_ATTR, username)
    return username


def client_address(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _pair_attempts(username: str | None, address: str | None):
    return AccessAttempt.objects.filter(
        username=username, ip_address=address, expiration__expires_at__gt=timezone.now()
    )


def delay_after(failures: int) -> timedelta:
    """How long a pair with `failures` remembered failures is locked after the latest of them."""
    extra = failures - settings.LOGIN_FAILURES_BEFORE_DELAY
    if extra < 0:
        return timedelta(0)
    seconds = settings.LOGIN_FIRST_DELAY_SECONDS * 2 ** min(extra, 20)
    return timedelta(seconds=min(seconds, settings.LOGIN_MAX_DELAY_SECONDS))


def cool_off(request: HttpRequest | None) -> timedelta:
    """AXES_COOLOFF_TIME: the window in which a pair's failures count (see the module docstring)."""
    memory = timedelta(seconds=settings.LOGIN_FAILURE_MEMORY_SECONDS)
    if request is None:
        return memory
    failures = _pair_attempts(
        get_client_username(request), getattr(request, "axes_ip_address", None)
    ).aggregate(total=Sum("failures_since_start"))["total"]
    return delay_after(failures or 0) or memory


def seconds_locked(request: HttpRequest) -> int:
    """Seconds until the pair of `request` may try again (at least 1 while it is locked)."""
    attempts = _pair_attempts(get_client_username(request), getattr(request, "axes_ip_address", None))
    totals = attempts.aggregate(failures=Sum("failures_since_start"), latest=Max("attempt_time"))
    if not totals["latest"]:
        return 0
    ends = totals["latest"] + delay_after(totals["failures"] or 0)
    return max(1, math.ceil((ends - timezone.now()).total_seconds()))


def locked_message(seconds: int) -> str:
    if seconds < 90:
        return ngettext(
            "Too many failed log-in attempts for this account from your network. Try again in %(n)d second.",
            "Too many failed log-in attempts for this account from your network. Try again in %(n)d seconds.",
            seconds,
        ) % {"n": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext(
        "Too many failed log-in attempts for this account from your network. Try again in %(n)d minute.",
        "Too many failed log-in attempts for this account from your network. Try again in %(n)d minutes.",
        minutes,
    ) % {"n": minutes}


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the page the login view rendered (which says the pair is locked and
    for how long), as a 429 with Retry-After."""
    response = original_response if original_response is not None else HttpResponse(status=429)
    response.status_code = 429
    response["Retry-After"] = str(seconds_locked(request))
    return response


class LockoutMiddleware(AxesMiddleware):
    """axes' middleware with its async path mended: in django-axes 8.3.1 (and its main branch)
    `__acall__` passes the credentials where the response belongs, so under daphne a locked page
    login crashed (500) in AXES_LOCKOUT_CALLABLE instead of answering 429."""

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        response = await self.get_response(request)
        if settings.AXES_ENABLED and getattr(request, "axes_locked_out", None):
            credentials = getattr(request, "axes_credentials", None)
            response = await sync_to_async(get_lockout_response, thread_sensitive=True)(
                request, response, credentials
            )
        return response


@receiver(user_locked_out)
def remember_failures_beyond_the_lock(sender, request, username, ip_address, **kwargs) -> None:
    """Axes forgets a pair's failures when its cool-off runs out; a locked pair's failures must
    outlive the lock, or its next failure would start again with free tries, not a longer delay."""
    if request is None:
        return
    lock = timedelta(seconds=seconds_locked(request))
    AccessAttemptExpiration.objects.filter(
        access_attempt__username=username, access_attempt__ip_address=ip_address
    ).update(expires_at=timezone.now() + lock + timedelta(seconds=settings.LOGIN_FAILURE_MEMORY_SECONDS))
