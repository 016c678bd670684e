"""Every WebSocket route, gathered from the apps that own them."""

from django.urls import path

from proctoring.routing import websocket_urlpatterns as proctoring_patterns
from sessions.consumers import ConnectivityCheckConsumer

websocket_urlpatterns = [
    path("ws/check/", ConnectivityCheckConsumer.as_asgi()),
    *proctoring_patterns,
]
