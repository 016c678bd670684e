"""daphne hands multipart bodies to Django as bytes, without Twisted parsing them first.

Twisted's Request parses every multipart POST into `request.args` with the e-mail parser, the
whole body in memory, in the reactor thread, before daphne calls the application. daphne never
reads `request.args`; Django parses the body again itself. The cost: a 1.7 MB identity photo
held every request and socket of the process for ~75 ms, a 5 MB room-scan chunk ~190 ms, a
25 MB body (nginx's limit) ~1 s and ~400 MB; a 100 MB "photo" sent to daphne directly took its
peak memory up by 1.3 GB, before procto.body_limit could refuse it. A body Twisted cannot parse
got Twisted's bare 400 instead of the API's envelope.

Twisted's Request takes `parsePOSTFormSubmission=False` for this (twisted#12412); daphne does
not pass it (its request class is daphne.http_protocol.WebRequest, built by its
HTTPFactory), so daphne's request class is replaced by one that does, when daphne loads
procto.asgi. daphne still receives a body in full (into a temporary file) and queues all of it
for the application (django/daphne#483): the largest bodies are nginx's to refuse.
"""

from __future__ import annotations

import inspect
import logging

logger = logging.getLogger(__name__)


def twisted_form_parsing_off() -> None:
    from daphne import http_protocol
    from twisted.web import http

    if getattr(http_protocol.WebRequest, "parses_forms", True) is False:
        return  # already done
    if "parsePOSTFormSubmission" not in inspect.signature(http.Request.__init__).parameters:
        logger.warning("this Twisted parses every multipart body in memory; a newer one would not")
        return

    class WebRequest(http_protocol.WebRequest):
        parses_forms = False

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, parsePOSTFormSubmission=False, **kwargs)

    # daphne's HTTPFactory.buildProtocol looks the class up by this name for each connection.
    http_protocol.WebRequest = WebRequest
