"""WebSocket authentication: who may open a socket, and sockets closing when a login ends."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.cached_db import SessionStore
from django.test import override_settings

from accounts import services
from accounts.ws_auth import CLOSE_FORBIDDEN, CLOSE_TRY_AGAIN_LATER, CLOSE_UNAUTHENTICATED
from procto.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: a real refused connection


def session_cookie_for(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return session.session_key


async def open_socket(path: str = "/ws/check/", headers=None) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, path, headers=headers or [ORIGIN])
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def close_code(communicator: WebsocketCommunicator) -> int:
    message = await communicator.receive_output(timeout=5)
    assert message["type"] == "websocket.close", message
    return message["code"]


async def assert_open(communicator: WebsocketCommunicator) -> None:
    await communicator.send_json_to({"type": "ping", "id": 1})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "pong"


async def test_an_anonymous_socket_is_closed_with_4401():
    communicator = await open_socket()
    assert await close_code(communicator) == CLOSE_UNAUTHENTICATED


async def test_a_foreign_origin_is_closed_with_4403(student):
    ticket = await database_sync_to_async(services.ws_ticket_issue)(user=student, login_id="x")
    communicator = await open_socket(
        f"/ws/check/?ticket={ticket}", headers=[(b"origin", b"https://evil.example")]
    )
    assert await close_code(communicator) == CLOSE_FORBIDDEN


async def test_a_missing_origin_is_closed_with_4403(student):
    communicator = await open_socket(headers=[(b"user-agent", b"script")])
    assert await close_code(communicator) == CLOSE_FORBIDDEN


async def test_a_ticket_opens_one_socket_only_once(student):
    ticket = await database_sync_to_async(services.ws_ticket_issue)(user=student, login_id="x")
    first = await open_socket(f"/ws/check/?ticket={ticket}")
    await assert_open(first)
    second = await open_socket(f"/ws/check/?ticket={ticket}")
    assert await close_code(second) == CLOSE_UNAUTHENTICATED
    await first.disconnect()


async def test_an_expired_ticket_is_refused(student, settings, clock):
    settings.WS_TICKET_LIFETIME_SECONDS = 30
    ticket = await database_sync_to_async(services.ws_ticket_issue)(user=student, login_id="x")
    clock.shift(30)
    communicator = await open_socket(f"/ws/check/?ticket={ticket}")
    assert await close_code(communicator) == CLOSE_UNAUTHENTICATED


async def test_the_session_cookie_authenticates_and_logout_closes_the_socket(student, client):
    session_key = await database_sync_to_async(session_cookie_for)(student)
    cookie = (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode())
    communicator = await open_socket(headers=[ORIGIN, cookie])
    await assert_open(communicator)

    # Logging out through the page, with the same session, ends the socket.
    client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    await database_sync_to_async(client.post)("/accounts/logout/")
    assert await close_code(communicator) == CLOSE_UNAUTHENTICATED


async def test_deactivating_a_user_closes_their_sockets(student):
    ticket = await database_sync_to_async(services.ws_ticket_issue)(user=student, login_id="laptop")
    communicator = await open_socket(f"/ws/check/?ticket={ticket}")
    await assert_open(communicator)

    def deactivate():
        student.is_active = False
        student.save()

    await database_sync_to_async(deactivate)()
    assert await close_code(communicator) == CLOSE_UNAUTHENTICATED


async def test_api_logout_closes_the_sockets_of_that_login_only(student, api):
    laptop = await database_sync_to_async(services.token_pair_issue)(user=student)
    phone = await database_sync_to_async(services.token_pair_issue)(user=student)

    def ticket_for(pair) -> str:
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.access_token}")
        return api.post("/api/auth/ws-ticket").json()["data"]["ticket"]

    laptop_socket = await open_socket(f"/ws/check/?ticket={await database_sync_to_async(ticket_for)(laptop)}")
    phone_socket = await open_socket(f"/ws/check/?ticket={await database_sync_to_async(ticket_for)(phone)}")
    await assert_open(laptop_socket)
    await assert_open(phone_socket)

    def logout_laptop():
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {laptop.access_token}")
        assert api.post("/api/auth/logout", {}, format="json").status_code == 200

    await database_sync_to_async(logout_laptop)()
    assert await close_code(laptop_socket) == CLOSE_UNAUTHENTICATED
    await assert_open(phone_socket)
    await phone_socket.disconnect()


async def test_a_ticket_minted_before_a_password_change_is_refused(student):
    ticket = await database_sync_to_async(services.ws_ticket_issue)(user=student, login_id="x")

    def change_password():
        student.set_password("another-long-passphrase")
        student.save()

    await database_sync_to_async(change_password)()
    communicator = await open_socket(f"/ws/check/?ticket={ticket}")
    assert await close_code(communicator) == CLOSE_UNAUTHENTICATED


async def test_a_ticket_issued_just_before_an_api_logout_opens_no_socket(student, api):
    pair = await database_sync_to_async(services.token_pair_issue)(user=student)

    def ticket_then_logout() -> str:
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.access_token}")
        ticket = api.post("/api/auth/ws-ticket").json()["data"]["ticket"]
        assert api.post("/api/auth/logout", {}, format="json").status_code == 200
        return ticket

    communicator = await open_socket(
        f"/ws/check/?ticket={await database_sync_to_async(ticket_then_logout)()}"
    )
    assert await close_code(communicator) == CLOSE_UNAUTHENTICATED


async def test_a_ticket_issued_just_before_a_page_logout_opens_no_socket(student, client):
    def ticket_then_logout() -> str:
        client.force_login(student)
        ticket = client.post("/api/auth/ws-ticket").json()["data"]["ticket"]
        client.post("/accounts/logout/")
        return ticket

    communicator = await open_socket(
        f"/ws/check/?ticket={await database_sync_to_async(ticket_then_logout)()}"
    )
    assert await close_code(communicator) == CLOSE_UNAUTHENTICATED


async def test_logging_out_one_login_leaves_the_tickets_of_another_working(student, api):
    laptop = await database_sync_to_async(services.token_pair_issue)(user=student)
    phone = await database_sync_to_async(services.token_pair_issue)(user=student)

    def phone_ticket_then_laptop_logout() -> str:
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {phone.access_token}")
        ticket = api.post("/api/auth/ws-ticket").json()["data"]["ticket"]
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {laptop.access_token}")
        assert api.post("/api/auth/logout", {}, format="json").status_code == 200
        return ticket

    communicator = await open_socket(
        f"/ws/check/?ticket={await database_sync_to_async(phone_ticket_then_laptop_logout)()}"
    )
    await assert_open(communicator)
    await communicator.disconnect()


# Redis restarting (or PostgreSQL): the page must hear "try again later" and reconnect, not get a
# 500 for its handshake (bench/drill.py's redis fault had both).


async def test_a_socket_opened_while_the_cache_is_down_is_closed_with_4503(student):
    ticket = await database_sync_to_async(services.ws_ticket_issue)(user=student, login_id="x")
    dead_cache = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    with override_settings(CACHES=dead_cache):  # where tickets are redeemed
        communicator = await open_socket(f"/ws/check/?ticket={ticket}")
        assert await close_code(communicator) == CLOSE_TRY_AGAIN_LATER


DEAD_LAYER = {
    "default": {"BACKEND": "procto.channel_layer.RedisChannelLayer", "CONFIG": {"hosts": [DEAD_REDIS]}}
}


async def test_a_socket_opened_while_the_channel_layer_is_down_is_closed_with_4503(student):
    ticket = await database_sync_to_async(services.ws_ticket_issue)(user=student, login_id="x")
    with override_settings(CHANNEL_LAYERS=DEAD_LAYER):  # every socket joins its groups there
        communicator = await open_socket(f"/ws/check/?ticket={ticket}")
        assert await close_code(communicator) == CLOSE_TRY_AGAIN_LATER
        await communicator.wait(timeout=5)
