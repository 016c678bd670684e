"""The one error type business code raises; the API and page handlers turn it into responses."""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError
from django.utils.translation import gettext_lazy as _
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# PostgreSQL or Redis did not answer (a restart, a failover, a full connection pool): the same
# request will most likely succeed in a few seconds. The API answers 503 with Retry-After
# (procto.api), a socket closes with 4503, "try again later" (accounts.ws_auth); the pages retry.
SERVICE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)


class ApplicationError(Exception):
    """A refusal the user can understand: a stable `code`, a human `message`, an HTTP status."""

    code = "APPLICATION_ERROR"
    status = 400
    message = _("The request could not be completed.")
    # Seconds until the same request may succeed (a lock, a limit): sent as the Retry-After header.
    retry_after: int | None = None

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        details: Any = None,
        retry_after: int | None = None,
    ) -> None:
        # Read now, in the language of the request being answered (messages are marked with
        # gettext_lazy where they are defined; the `code` stays English for machines).
        self.message = str(message or self.message)
        self.code = code or self.code
        self.status = status or self.status
        self.details = details
        self.retry_after = retry_after if retry_after is not None else self.retry_after
        super().__init__(self.message)


class NotFoundError(ApplicationError):
    code = "NOT_FOUND"
    status = 404
    message = _("Not found.")


class ForbiddenError(ApplicationError):
    code = "PERMISSION_DENIED"
    status = 403
    message = _("You do not have permission to do this.")


class ConflictError(ApplicationError):
    code = "CONFLICT"
    status = 409
