"""API rate limits: DRF's throttles, with their rates read from settings when a request comes.

DRF fixes a throttle's rates when its module is imported; reading them per request lets the
environment (API_USER_RATE, API_ANON_RATE) and tests set them. Counters live in the default
cache (Redis in services mode), so every daphne process shares them. A throttled call gets 429
with Retry-After in the usual error envelope (procto.api).
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class ApiUserRateThrottle(UserRateThrottle):
    """Per signed-in user, over all their devices: a runaway page or script is stopped, a class
    behind one address is not."""

    def get_rate(self) -> str:
        return settings.API_USER_RATE


class ApiAnonRateThrottle(AnonRateThrottle):
    """Per address, for calls without credentials (log in, register, refresh a token)."""

    def get_rate(self) -> str:
        return settings.API_ANON_RATE
