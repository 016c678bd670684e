"""Every WebSocket route, gathered from the apps that own them."""

from django.urls import path, re_path

from accounts.ws_auth import UnknownPath
from proctoring.routing import websocket_urlpatterns as proctoring_patterns
from sessions.consumers import ConnectivityCheckConsumer

websocket_urlpatterns = [
    path("ws/check/", ConnectivityCheckConsumer.as_asgi()),
    *proctoring_patterns,
    re_path(r"", UnknownPath.as_asgi()),  # last: any other path is refused quietly
]
