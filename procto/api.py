"""The reference API envelope around every response, and the one DRF exception handler.

Success: {"success": true, "data": ..., "timestamp": ...}
Failure: {"success": false, "error": {"code", "message", "details", "timestamp"}}
Keys are camelCase on the wire (djangorestframework-camel-case), snake_case in Python.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from djangorestframework_camel_case.util import camelize
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from procto.errors import SERVICE_UNAVAILABLE_ERRORS, ApplicationError
from procto.renderers import now_iso

logger = logging.getLogger(__name__)

# DRF's exception classes -> the envelope's error codes.
DRF_ERROR_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ValidationError: "VALIDATION_ERROR",
    exceptions.ParseError: "MALFORMED_REQUEST",
    exceptions.AuthenticationFailed: "AUTHENTICATION_FAILED",
    exceptions.NotAuthenticated: "NOT_AUTHENTICATED",
    exceptions.PermissionDenied: "PERMISSION_DENIED",
    exceptions.NotFound: "NOT_FOUND",
    exceptions.MethodNotAllowed: "METHOD_NOT_ALLOWED",
    exceptions.NotAcceptable: "NOT_ACCEPTABLE",
    exceptions.UnsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
    exceptions.Throttled: "THROTTLED",
}


SERVICE_RETRY_AFTER_SECONDS = 5  # for SERVICE_UNAVAILABLE_ERRORS


def error_body(code: str, message: str, details: Any = None) -> dict:
    return {
        "success": False,
        "error": {"code": code, "message": message, "details": details, "timestamp": now_iso()},
    }


def _drf_error(exc: exceptions.APIException) -> tuple[str, str, Any]:
    code = next((c for cls, c in DRF_ERROR_CODES.items() if isinstance(exc, cls)), "REQUEST_ERROR")
    if isinstance(exc, exceptions.ValidationError):
        return code, _("Some fields are invalid."), exc.detail
    return code, str(exc.detail), None


def exception_handler(exc: Exception, context: dict) -> Response:
    """Every API error, expected or not, leaves as an envelope; unexpected ones are logged."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )

    headers = {}
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1_048_576
        status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        body = error_body(
            "PAYLOAD_TOO_LARGE", _("The request body is larger than %(limit)d MB.") % {"limit": limit}
        )
    elif isinstance(exc, ApplicationError):
        status_code, body = exc.status, error_body(exc.code, exc.message, exc.details)
        if exc.retry_after:
            headers["Retry-After"] = str(int(exc.retry_after))
    elif isinstance(exc, SERVICE_UNAVAILABLE_ERRORS):
        view = context.get("view")
        logger.warning("service unavailable in %s: %r", type(view).__name__ if view else "API", exc)
        status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        body = error_body(
            "SERVICE_UNAVAILABLE",
            _("Procto cannot reach its database or cache right now. Try again in a few seconds."),
        )
        headers["Retry-After"] = str(SERVICE_RETRY_AFTER_SECONDS)
    elif isinstance(exc, exceptions.APIException):
        status_code, body = exc.status_code, error_body(*_drf_error(exc))
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
    else:
        view = context.get("view")
        logger.exception("unexpected error in %s", type(view).__name__ if view else "API")
        status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
        body = error_body("INTERNAL_ERROR", _("An unexpected error occurred. It has been logged."))
    if status_code >= 400 and status_code != 500:
        logger.info("API %s: %s", status_code, body["error"]["code"])
    set_rollback()
    response = Response(body, status=status_code, headers=headers)
    response.is_enveloped = True
    return response


def envelope_json_response(code: str, message: str, status_code: int) -> JsonResponse:
    """For errors raised outside DRF (unknown /api/ URLs, middleware): the same envelope."""
    return JsonResponse(camelize(error_body(code, message)), status=status_code)
