"""E-mails that anyone may make Procto send (a password reset link, a registration's confirmation
or notice), limited per recipient and per client address.

Per recipient (ACCOUNT_EMAILS_PER_RECIPIENT, 3 an hour): nobody can flood someone's inbox from
Procto. A request past it gets the same answer as any other and sends nothing, so the answer
says nothing about the address, and whether it has an account. Per client address
(ACCOUNT_EMAILS_PER_ADDRESS, generous: a school's students share one address): a script is told
to stop, 429 with Retry-After, whatever the addresses it asks for.

The counting is DRF's SimpleRateThrottle (timestamps in the cache, Redis in services mode), the
same as the API's rate limits.
"""

from __future__ import annotations

import hashlib
import logging
import math

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.errors import TooManyEmailRequests

logger = logging.getLogger(__name__)


class _Limit(SimpleRateThrottle):
    def __init__(self, kind: str, value: str, rate: str) -> None:
        self.rate = rate
        digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
        self.cache_key = f"account-email:{kind}:{digest}"
        super().__init__()

    def get_cache_key(self, request, view) -> str:
        return self.cache_key


def account_email_allow(*, recipient: str, client_address: str | None) -> bool:
    """Count one e-mail to `recipient` asked for from `client_address`; True if it may be sent.

    Raises TooManyEmailRequests (429, retry_after) when the client address is past its limit;
    returns False, and the caller sends nothing but answers as usual, when the recipient is.
    """
    if client_address:
        by_address = _Limit("address", client_address, settings.ACCOUNT_EMAILS_PER_ADDRESS)
        if not by_address.allow_request(None, None):
            raise TooManyEmailRequests(retry_after=max(1, math.ceil(by_address.wait() or 1)))
    if not _Limit("recipient", recipient, settings.ACCOUNT_EMAILS_PER_RECIPIENT).allow_request(None, None):
        logger.info("account e-mail not sent: its recipient had ACCOUNT_EMAILS_PER_RECIPIENT already")
        return False
    return True
