"""Failed-login counting in the cache (Redis in services mode, shared by every process).

Counters are keyed by IP and by a hash of the lowercased e-mail, whether or not an account has
that e-mail, so a locked answer reveals nothing about which addresses exist.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache

from accounts.errors import AccountLocked


def _keys(kind: str, value: str) -> tuple[str, str]:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"login-fail:{kind}:{digest}", f"login-lock:{kind}:{digest}"


def _subjects(ip: str | None, email: str) -> list[tuple[str, str, int]]:
    subjects = [("account", email, settings.LOGIN_FAILURES_PER_ACCOUNT)]
    if ip:
        subjects.append(("ip", ip, settings.LOGIN_FAILURES_PER_IP))
    return subjects


def login_lock_check(*, ip: str | None, email: str) -> None:
    """Raise AccountLocked while the account or the IP is locked."""
    for kind, value, _ in _subjects(ip, email):
        if cache.get(_keys(kind, value)[1]):
            raise AccountLocked()


def login_failure_record(*, ip: str | None, email: str) -> None:
    for kind, value, limit in _subjects(ip, email):
        count_key, lock_key = _keys(kind, value)
        # add() starts the window only once; incr() is atomic in Redis and in locmem.
        cache.add(count_key, 0, timeout=settings.LOGIN_LOCK_SECONDS)
        try:
            failures = cache.incr(count_key)
        except ValueError:  # expired between add and incr: this failure starts a new window
            cache.set(count_key, 1, timeout=settings.LOGIN_LOCK_SECONDS)
            failures = 1
        if failures >= limit:
            cache.set(lock_key, 1, timeout=settings.LOGIN_LOCK_SECONDS)
            cache.delete(count_key)


def login_success_record(*, email: str) -> None:
    """A correct password clears the account's failures (not the IP's: others share it)."""
    cache.delete(_keys("account", email)[0])
