"""The OpenAPI description as the wire has it (drf-spectacular): every JSON success inside the
`{success, data, timestamp}` envelope, every operation's error responses in the error envelope
(procto.api), names camelCase (the camelize hook in SPECTACULAR_SETTINGS).

Views describe only their payload (`responses={200: ExamOutput}`) and the errors particular to
them (`**errors(409)`); the envelope and the errors every operation of its kind can meet (bad
input, no login, no permission, unknown id, throttled) are added here, from the view itself.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated

from procto.renderers import EnvelopeRenderer

ERROR_DESCRIPTIONS = {
    400: "The input is invalid (`VALIDATION_ERROR`, `MALFORMED_REQUEST`) or refused.",
    401: "No valid credentials (`NOT_AUTHENTICATED`, `AUTHENTICATION_FAILED`, `TOKEN_INVALID`).",
    403: "Signed in, but this role may not do this (`PERMISSION_DENIED`), or the CSRF check failed.",
    404: "No such object, or not one this user may see (`NOT_FOUND`).",
    409: "The object's state does not allow this now (`CONFLICT` or a more specific code).",
    413: "The request body is too large (`PAYLOAD_TOO_LARGE`, `TOO_LARGE`).",
    415: "The body's content type is not accepted (`UNSUPPORTED_MEDIA_TYPE`).",
    422: "The input was well formed but could not be processed.",
    429: "Too many requests (`THROTTLED`, `ACCOUNT_LOCKED`, `JOIN_CODE_LOCKED`); see the Retry-After header.",
    503: "PostgreSQL or Redis did not answer, e.g. during a restart (`SERVICE_UNAVAILABLE`); try again after "
    "the Retry-After header's seconds.",
}


class ApiErrorOutput(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable: VALIDATION_ERROR, NOT_FOUND, …")
    message = serializers.CharField(help_text="For people.")
    details = serializers.JSONField(
        allow_null=True, help_text="Per-field messages for VALIDATION_ERROR, else usually null."
    )
    timestamp = serializers.DateTimeField()


class ErrorEnvelope(serializers.Serializer):
    success = serializers.BooleanField(help_text="Always false.")
    error = ApiErrorOutput()


# A list of objects whose fields are not described yet (a free-form object each).
OBJECTS = {"type": "array", "items": {"type": "object", "additionalProperties": {}}}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """Error responses particular to one operation, for `extend_schema(responses={...})`."""
    return {code: OpenApiResponse(ErrorEnvelope, description=ERROR_DESCRIPTIONS[code]) for code in codes}


def _envelope(data_schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "success": {"type": "boolean", "enum": [True]},
            "data": data_schema,
            "timestamp": {"type": "string", "format": "date-time"},
        },
        "required": ["success", "data", "timestamp"],
    }


class EnvelopeAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, with the envelope and the errors every operation can meet."""

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response" or not self._renders_envelope():
            return responses
        for code, response in responses.items():
            if code.startswith("2"):
                for media_type, content in response.get("content", {}).items():
                    if media_type == "application/json" and "schema" in content:
                        content["schema"] = _envelope(content["schema"])
        for code in self._common_error_codes():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    OpenApiResponse(ErrorEnvelope, description=ERROR_DESCRIPTIONS[code]), str(code)
                )
        return dict(sorted(responses.items()))

    def _renders_envelope(self) -> bool:
        return any(isinstance(renderer, EnvelopeRenderer) for renderer in self.view.get_renderers())

    def _common_error_codes(self) -> list[int]:
        codes = []
        has_body = self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None
        has_query = any(p.get("in") == "query" for p in self._get_parameters())
        if has_body or has_query:
            codes.append(400)
        permissions = self.view.get_permissions()
        public = any(isinstance(p, AllowAny) for p in permissions)
        if not public:
            codes.append(401)
            # A role check, or SessionAuthentication's CSRF check on an unsafe method.
            role_checked = any(not isinstance(p, IsAuthenticated) for p in permissions)
            if role_checked or self.method not in ("GET", "HEAD", "OPTIONS"):
                codes.append(403)
        if "{" in self.path:
            codes.append(404)
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append(413)
        if has_body:
            codes.append(415)
        if self.view.get_throttles():
            codes.append(429)
        codes.append(503)  # every operation reads the database or the cache
        return codes
