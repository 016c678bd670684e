"""Every WebSocket route, gathered from the apps that own them."""

from django.urls import path

from procto.consumers import ConnectivityCheckConsumer
from proctoring.routing import websocket_urlpatterns as proctoring_patterns

websocket_urlpatterns = [
    path("ws/check/", ConnectivityCheckConsumer.as_asgi()),
    *proctoring_patterns,
]
