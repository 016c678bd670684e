"""Wrong join codes counted in the cache (Redis in services mode, shared by every process), per
student account and per client address.

Per account alone, one person with many accounts (or one made per try) could guess codes from
one address without end; per address alone, one student's typos would lock out the class behind
the school's one NAT address. So both count, and only failures count: a right code never adds
to either. The address limit is generous (a class's typos stay well below it), and while an
address is locked, a code that has already let a student in from it in the window still works:
a guesser behind that address learns nothing from it they did not know, and the rest of the
class still gets in.

A lock's value is the moment it ends, so the 429 can say when to come back (Retry-After).
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache

ACCOUNT = "account"
ADDRESS = "address"


def _digest(value: object) -> str:
    return hashlib.sha256(str(value).strip().lower().encode()).hexdigest()[:32]


def _limit(kind: str) -> int:
    return settings.JOIN_CODE_FAILURES_PER_ACCOUNT if kind == ACCOUNT else settings.JOIN_CODE_FAILURES_PER_IP


def seconds_locked(kind: str, value: object) -> int:
    """How long the account or address stays locked (0: not locked)."""
    until = cache.get(f"join-code-lock:{kind}:{_digest(value)}")
    return max(0, math.ceil(until - time.time())) if until else 0


def failure_record(kind: str, value: object) -> None:
    """Count one wrong code; the failure that reaches the limit locks for JOIN_CODE_LOCK_SECONDS."""
    window = settings.JOIN_CODE_LOCK_SECONDS
    count_key = f"join-code-fail:{kind}:{_digest(value)}"
    # add() starts the window only once; incr() is atomic in Redis and in locmem.
    cache.add(count_key, 0, timeout=window)
    try:
        failures = cache.incr(count_key)
    except ValueError:  # expired between add and incr: this failure starts a new window
        cache.set(count_key, 1, timeout=window)
        failures = 1
    if failures >= _limit(kind):
        cache.set(f"join-code-lock:{kind}:{_digest(value)}", time.time() + window, timeout=window)
        cache.delete(count_key)


def address_join_record(address: str, course_id: int) -> None:
    """A right code from this address: it keeps working from here through a lock of the address."""
    cache.set(f"join-code-ok:{_digest(address)}:{course_id}", 1, timeout=settings.JOIN_CODE_LOCK_SECONDS)


def address_has_joined(address: str, course_id: int) -> bool:
    return bool(cache.get(f"join-code-ok:{_digest(address)}:{course_id}"))
