"""A request id for every WebSocket connection, as django-structlog gives every HTTP request.

A student's socket carries frames for hours; every line logged while serving it (in daphne, and
in the Celery worker that analyses its frames, which gets the id in a task header, or with each
frame of a batch: proctoring.frame_batches) carries the
same request_id, plus the socket's path and client address. nginx's $request_id arrives as
X-Request-ID on the upgrade request and is used when present, so its access log matches too.
Each socket also gets one line when it opens and one when it ends (daphne's own access log is
off in production: it is not JSON and has no request id).
"""

from __future__ import annotations

import re
import time
import uuid
from contextvars import ContextVar

import structlog
from django.http import HttpRequest, QueryDict
from django_structlog.middlewares.request import RequestMiddleware

logger = structlog.get_logger("procto.sockets")

# A header value is client-controlled when there is no proxy in front: keep ids short and plain.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name.lower() == b"x-request-id":
            text = value.decode("latin-1")
            if _REQUEST_ID.match(text):
                return text
    return str(uuid.uuid4())


class ConnectionLogContext:
    """ASGI middleware for the websocket protocol: binds request_id, path and ip for the whole
    connection and logs socket_opened / socket_closed (who closed it, with which code, after how
    long)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        client = scope.get("client") or (None, None)
        started = time.monotonic()
        ending: dict[str, object] = {"accepted": False}

        async def watched_send(message):
            if message["type"] == "websocket.accept":
                ending["accepted"] = True
                logger.info("socket_opened")
            elif message["type"] == "websocket.close":
                ending.setdefault("server_code", message.get("code", 1000))
            await send(message)

        async def watched_receive():
            message = await receive()
            if message["type"] == "websocket.disconnect":
                ending.setdefault("client_code", message.get("code"))
            return message

        with structlog.contextvars.bound_contextvars(
            request_id=request_id_from(scope.get("headers", [])), path=scope.get("path"), ip=client[0]
        ):
            try:
                return await self.app(scope, watched_receive, watched_send)
            finally:
                logger.info("socket_closed", duration_s=round(time.monotonic() - started, 1), **ending)


_request: ContextVar[HttpRequest | None] = ContextVar("procto_request", default=None)


def current_request() -> HttpRequest | None:
    """The HTTP request being served in this context, if any: for code that must say who did
    something and from where (the audit trail) without the request passed down to it."""
    return _request.get()


def request_log_context(get_response):
    """HTTP middleware before django-structlog's: an X-Request-ID that is not short and plain is
    dropped (that middleware then makes its own id, as request_id_from does for sockets); `ip` is
    REMOTE_ADDR, which daphne --proxy-headers sets from nginx's X-Forwarded-For, the address the
    per-address limits count; and the request is remembered for current_request()."""

    def middleware(request):
        value = request.META.get("HTTP_X_REQUEST_ID")
        if value is not None and not _REQUEST_ID.match(value):
            del request.META["HTTP_X_REQUEST_ID"]
        structlog.contextvars.bind_contextvars(ip=request.META.get("REMOTE_ADDR"))
        token = _request.set(request)
        try:
            return get_response(request)
        finally:
            _request.reset(token)

    return middleware


# URL parts that let whoever holds them in: one-time links (password reset, registration
# confirmation, the LTI new-window link, identity-file links) and socket tickets. A log line
# names the page, never the key: logs are read by more people, and kept longer, than the links.
_SECRET_NAME = re.compile(r"token|ticket|uidb64|key|secret|code", re.IGNORECASE)
REDACTED = "[redacted]"


def loggable_request(request: HttpRequest) -> str:
    """'METHOD path?query' with every secret URL argument and query value replaced."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    for name, value in match.kwargs.items() if match else ():
        if _SECRET_NAME.search(name) and isinstance(value, str) and value:
            path = path.replace(value, REDACTED)
    query = QueryDict(request.META.get("QUERY_STRING", ""), mutable=True)
    for name in list(query):
        if _SECRET_NAME.search(name):
            query.setlist(name, [REDACTED])
    text = query.urlencode(safe="[]")
    return f"{request.method} {path}{'?' + text if text else ''}"


class RequestLogMiddleware(RequestMiddleware):
    """django-structlog's request lines (request_finished, request_failed), without secrets."""

    @staticmethod
    def format_request(request: HttpRequest) -> str:
        return loggable_request(request)
