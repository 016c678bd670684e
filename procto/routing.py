"""Every WebSocket route, gathered from the apps that own them."""

from django.urls import path

from procto.consumers import ConnectivityCheckConsumer

websocket_urlpatterns = [
    path("ws/check/", ConnectivityCheckConsumer.as_asgi()),
]
