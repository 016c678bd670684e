"""WebSocket authentication: who is on the socket, and closing it when their login ends.

A socket is authenticated by the page session cookie, or by a single-use ticket from
POST /api/auth/ws-ticket (`?ticket=...`). Refusals accept and then close with a code, so the
browser sees why (a refusal before accept only shows as a failed handshake):

    4401  not authenticated, or the login ended (logout, password change, deactivation)
    4403  refused: foreign Origin, or the user may not use this socket
    4503  try again later: PostgreSQL or Redis did not answer (a restart); the page reconnects
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlparse

from asgiref.sync import sync_to_async
from channels.auth import AuthMiddleware, get_user
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.security.websocket import OriginValidator
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from accounts import realtime, services
from procto.db_threads import off_thread
from procto.errors import SERVICE_UNAVAILABLE_ERRORS

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
# RFC 6455's 1013 means the same, but daphne's WebSocket library lets a server send only 1000
# and 3000-4999 (it closes with 1011 instead): as 4401 and 4403, the HTTP status plus 4000.
CLOSE_TRY_AGAIN_LATER = 4503


class _Refuse(AsyncWebsocketConsumer):
    """Accepts, then closes at once with the code and reason placed in the scope."""

    # No alias of that name is configured: a refused socket never listens on the channel layer,
    # so it opens no Redis receive that must be cancelled once the client goes.
    channel_layer_alias = "refused-sockets-listen-on-no-layer"

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=self.scope["refuse_code"], reason=self.scope["refuse_reason"])


async def refuse(scope, receive, send, *, code: int, reason: str):
    logger.info("websocket %s refused (%s): %s", scope.get("path"), code, reason)
    scope = dict(scope, refuse_code=code, refuse_reason=reason)
    return await _Refuse.as_asgi()(scope, receive, send)


class UnknownPath(AsyncWebsocketConsumer):
    """The last route: a path no consumer serves is refused during the handshake (daphne answers
    403), in one log line. Without it, channels' URLRouter raises, and daphne answers 500 and logs
    a traceback for every such request: anyone could flood the log."""

    channel_layer_alias = _Refuse.channel_layer_alias

    async def connect(self) -> None:
        logger.info("websocket %r refused: no such path", self.scope.get("path"))
        await self.close()


class OriginCheck(OriginValidator):
    """Channels' AllowedHostsOriginValidator rules, refusing with close code 4403."""

    def __init__(self, application) -> None:
        allowed = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not allowed:
            allowed = ["localhost", "127.0.0.1", "[::1]"]
        super().__init__(application, allowed)

    async def __call__(self, scope, receive, send):
        origin = next((v for k, v in scope.get("headers", []) if k == b"origin"), None)
        try:
            parsed = urlparse(origin.decode("latin1")) if origin else None
        except (UnicodeDecodeError, ValueError):
            parsed = None
        if self.valid_origin(parsed):
            return await self.application(scope, receive, send)
        return await refuse(scope, receive, send, code=CLOSE_FORBIDDEN, reason="origin not allowed")


class TicketAuthMiddleware:
    """A `?ticket=` in the URL, if present, decides the user; else the session cookie does."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        ticket = parse_qs(scope.get("query_string", b"").decode("latin1")).get("ticket", [None])[0]
        scope = dict(scope)
        if ticket:
            redeemed = await off_thread(services.ws_ticket_redeem)(ticket=ticket)
            if redeemed is None:
                return await refuse(
                    scope,
                    receive,
                    send,
                    code=CLOSE_UNAUTHENTICATED,
                    reason="ticket unknown, used or expired",
                )
            scope["user"], scope["login_id"] = redeemed
        else:
            session_key = getattr(scope.get("session"), "session_key", None)
            user = scope.get("user")
            if user is None or not session_key:
                scope["user"] = AnonymousUser()
            scope["login_id"] = realtime.session_login_id(session_key) if session_key else ""
        return await self.application(scope, receive, send)


class SocketEnd:
    """Outermost: what happens when a socket's application ends, however it ends.

    A database or Redis that stops answering (a restart) closes the socket with 4503 and one
    warning line. Without this, a handshake under way is answered with a 500 and an open socket
    dies with 1011 and a traceback: once for every student connected when Redis restarts. The
    pages reconnect on either; this tells them (and the log) why.

    No database connection is left to close when a socket ends: every query of the sockets runs
    in procto.db_threads.off_thread, which gives its connection back to the pool at once.
    (channels' database_sync_to_async did not, on asgiref 3.13: its cleanup runs outside the
    context the call ran in; this used to close it here, with a turn on the sync thread.)
    """

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        sent: set[str] = set()

        async def tracked(message: dict) -> None:
            sent.add(message["type"])
            await send(message)

        try:
            return await self.application(scope, receive, tracked)
        except SERVICE_UNAVAILABLE_ERRORS as exc:
            logger.warning(
                "websocket %s closed, a backing service did not answer: %r", scope.get("path"), exc
            )
            if "websocket.close" in sent:
                return None
            if "websocket.accept" not in sent:
                await send({"type": "websocket.accept"})
            await send(
                {"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER, "reason": "try again later"}
            )
            return None


def _ticket_in(scope) -> bool:
    return bool(parse_qs(scope.get("query_string", b"").decode("latin1")).get("ticket"))


class SessionAuth(AuthMiddleware):
    """Channels' AuthMiddleware, with the session's user read off the process's one sync thread
    (procto.db_threads), and not at all for a socket that brings a ticket: the ticket decides."""

    async def resolve_scope(self, scope):
        if _ticket_in(scope):
            scope["user"]._wrapped = AnonymousUser()
            return
        scope["user"]._wrapped = await off_thread(get_user.func)(scope)


def websocket_stack(application):
    """Outage handling, Origin check, session or ticket authentication, then the URL router."""
    return SocketEnd(
        OriginCheck(CookieMiddleware(SessionMiddleware(SessionAuth(TicketAuthMiddleware(application)))))
    )


class AuthenticatedConsumer(AsyncWebsocketConsumer):
    """Base for every Procto socket: closes 4401 unless authenticated; joins the groups that
    revocations are sent to. Subclasses implement `on_authenticated()` and call `accept()`."""

    auth_groups: list[str]

    async def dispatch(self, message) -> None:
        # Channels closes stale database connections before every message a consumer handles
        # (frames, audio, group messages), on the process's one sync thread: hundreds of turns a
        # second there with a class connected, and every handshake queued behind them. This
        # consumer's database work runs in wrappers that close their own connections
        # (procto.db_threads.off_thread, channels' database_sync_to_async); it uses no async ORM.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self.auth_groups = []
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED, reason="log in first")
            return
        self.user = user
        self.auth_groups = [realtime.user_group(user.pk)]
        if self.scope.get("login_id"):
            self.auth_groups.append(realtime.login_group(self.scope["login_id"]))
        for group in self.auth_groups:
            await self.channel_layer.group_add(group, self.channel_name)
        # A logout between the ticket's redemption and the group_add above sent its close to a
        # group this socket was not in yet: look once more, now that it would hear the next one.
        login_id = self.scope.get("login_id")
        # A cache read: not on the process's one thread for sync code, which every API request
        # and every other socket's handshake queue for (a class reconnecting after a node died).
        ended = sync_to_async(services.ws_login_ended, thread_sensitive=False)
        if login_id and await ended(login_id=login_id):
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED, reason="the login has ended")
            return
        await self.on_authenticated()

    async def on_authenticated(self) -> None:
        await self.accept()

    def groups_joined(self) -> list[str]:
        """Every channel-layer group this socket belongs to; subclasses add theirs."""
        return list(self.auth_groups)

    async def groups_rejoin(self) -> None:
        """Join this socket's groups again. The channel layer keeps them in Redis, which forgets
        them when it restarts while most sockets stay open: deaf to warnings, to the end of their
        session and to the end of their login, and nothing tells the page. Called on the
        messages a page sends every few seconds; one idempotent write per group."""
        for group in self.groups_joined():
            await self.channel_layer.group_add(group, self.channel_name)

    async def refuse(self, reason: str) -> None:
        await self.accept()
        await self.close(code=CLOSE_FORBIDDEN, reason=reason)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "auth_groups", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def auth_revoked(self, event: dict) -> None:
        await self.close(code=CLOSE_UNAUTHENTICATED, reason=event["reason"])
