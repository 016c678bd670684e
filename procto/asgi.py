"""ASGI entry point: HTTP and WebSocket from one daphne process."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procto.settings")
# Django must be set up before anything imports models (consumers, auth middleware).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from accounts.ws_auth import websocket_stack  # noqa: E402
from procto.body_limit import RequestBodyLimit  # noqa: E402
from procto.daphne_bodies import twisted_form_parsing_off  # noqa: E402
from procto.log_context import ConnectionLogContext  # noqa: E402
from procto.routing import websocket_urlpatterns  # noqa: E402

# Twisted would parse each multipart body in memory, in the reactor, for nothing.
twisted_form_parsing_off()

# Everything imported so far lives as long as the process: keeping it out of the garbage
# collector's generations cut full-collection pauses from 80-115 ms to 9-18 ms under load
# (docs/BENCHMARKS.md, autosave).
gc.freeze()

application = ProtocolTypeRouter(
    {
        # A body over its view's limit is refused before Django reads any of it.
        "http": RequestBodyLimit(django_asgi_app),
        # Browsers send Origin on WebSocket upgrades: a page on another site cannot open ours.
        # Then the session cookie or a single-use ticket says who is on the socket.
        # Every line logged for a socket, here and in the workers, carries its request id.
        "websocket": ConnectionLogContext(websocket_stack(URLRouter(websocket_urlpatterns))),
    }
)
