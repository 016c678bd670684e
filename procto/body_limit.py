"""A request body over its view's limit is refused (413 TOO_LARGE) before Django reads it.

Django's ASGI handler receives the whole body into a temporary file before any middleware or
view runs, and the multipart parser then writes each file out again: a 100 MB "photo" sent to a
view that takes 5 MB ones was received, spooled and parsed in full (~5 s on a loaded machine)
before its serializer said no. This wraps the HTTP application. A view declares how large a body
it takes (`max_request_bytes`, a class attribute or the decorator below), and a request for it is
refused

- at once when its Content-Length says it is larger, with none of the body read;
- as soon as the bytes received pass the limit, when it has no Content-Length (chunked).

The answer is the API envelope under /api/ and the error page elsewhere. daphne (Twisted) still
receives a body in full, into a temporary file, before it calls the application at all; in
production nginx's client_max_body_size turns away the largest bodies first (deploy/nginx.conf).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from typing import TypeVar

from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from djangorestframework_camel_case.util import camelize

from procto.api import error_body

logger = logging.getLogger(__name__)

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
V = TypeVar("V", bound=Callable)


def max_request_bytes(limit: int) -> Callable[[V], V]:
    """Declares the largest body a function view takes (class-based views set the attribute)."""

    def declare(view: V) -> V:
        view.max_request_bytes = limit
        return view

    return declare


def limit_for(path_info: str) -> int | None:
    """The `max_request_bytes` of the view at `path_info`, if it declares one."""
    try:
        view = resolve(path_info).func
    except Resolver404:
        return None
    limit = getattr(view, "max_request_bytes", None)
    if limit is None:  # as_view() functions carry their class
        limit = getattr(getattr(view, "view_class", None), "max_request_bytes", None)
    return limit


class RequestBodyLimit:
    """ASGI middleware around Django's HTTP application."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        limit = None
        if scope["type"] == "http" and scope["method"] in BODY_METHODS:
            limit = limit_for(_path_info(scope))
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, send, limit=limit, size=declared)
            return

        received = 0
        over = False

        async def counted_receive() -> dict:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request" and not over:
                received += len(message.get("body", b""))
                if received > limit:
                    # Django stops reading a body whose client went away and answers nothing;
                    # the refusal below is then the only answer.
                    over = True
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, counted_receive, send)
        if over:
            await _refuse(scope, send, limit=limit, size=None)


def _path_info(scope) -> str:
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _content_length(scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # Django's own parsing refuses it
    return None


def _megabytes(nbytes: int) -> str:
    # Rounded up, so a body just over the limit never reads as "6.0 MB; the limit is 6 MB".
    return f"{math.ceil(nbytes / 1024**2 * 10) / 10:.1f}"


async def _refuse(scope, send, *, limit: int, size: int | None) -> None:
    limit_text = f"the limit here is {_megabytes(limit)} MB"
    message = (
        f"The upload is {_megabytes(size)} MB; {limit_text}."
        if size is not None
        else f"The upload is larger than {_megabytes(limit)} MB, the limit here."
    )
    logger.info("request body refused: %s %s, %s bytes > %s", scope["method"], scope["path"], size, limit)
    if _path_info(scope).startswith("/api/"):
        body = json.dumps(camelize(error_body("TOO_LARGE", message, {"limit": limit}))).encode()
        content_type = b"application/json"
    else:
        context = {"status": 413, "title": "Upload too large", "message": message}
        body = render_to_string("error.html", context).encode()
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body may still be on its way: this connection carries nothing more.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
