"""The success envelope. Kept apart from procto.api: DRF imports renderers while it starts up,
before procto.api's imports of DRF views could complete."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from djangorestframework_camel_case.render import CamelCaseJSONRenderer
from rest_framework import status


def now_iso() -> str:
    return timezone.now().isoformat().replace("+00:00", "Z")


class EnvelopeRenderer(CamelCaseJSONRenderer):
    """Wraps successful payloads in the success envelope; error bodies arrive already wrapped."""

    def render(self, data: Any, accepted_media_type=None, renderer_context=None) -> bytes:
        response = (renderer_context or {}).get("response")
        if response is not None and not getattr(response, "is_enveloped", False):
            if response.status_code == status.HTTP_204_NO_CONTENT:
                return b""
            data = {"success": True, "data": data, "timestamp": now_iso()}
        return super().render(data, accepted_media_type, renderer_context)
