"""The tool's three endpoints: OIDC login initiation, the launch, and Procto's public keys.

Platforms post to the first two from another site, so they are exempt from CSRF; pylti1p3's
state (a cookie) and nonce (single use, sessions.lti.tool_config) protect them instead.
"""

from __future__ import annotations

import logging

from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pylti1p3.contrib.django.message_launch import DjangoMessageLaunch
from pylti1p3.contrib.django.oidc_login import DjangoOIDCLogin
from pylti1p3.exception import LtiException, OIDCException

from procto.error_pages import error_page
from sessions.lti.keys import tool_jwks
from sessions.lti.services import LaunchRefused, launch_accept
from sessions.lti.tool_config import (
    ProctoToolConf,
    SingleUseNonceSessionService,
    launch_data_storage,
    platform_find,
)

logger = logging.getLogger(__name__)


def _refused(request: HttpRequest, status: int, reason: str) -> HttpResponse:
    logger.warning("LTI %s refused (%s) from %s", request.path, reason, request.META.get("REMOTE_ADDR"))
    return error_page(request, status, "The LMS link did not work", reason)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def lti_login(request: HttpRequest) -> HttpResponse:
    """Third-party login initiation: check the platform is registered, then send the browser to
    its authentication URL with a fresh state (cookie) and nonce."""
    oidc = DjangoOIDCLogin(
        request,
        ProctoToolConf(),
        session_service=SingleUseNonceSessionService(request),
        launch_data_storage=launch_data_storage(),
    )
    try:
        return oidc.redirect(request.build_absolute_uri(reverse("lti-launch")))
    except (OIDCException, LtiException) as error:
        return _refused(request, 400, f"Procto does not know this LMS ({error}).")


@csrf_exempt
@require_POST
def lti_launch(request: HttpRequest) -> HttpResponse:
    """The platform's form post of the id_token: validated by pylti1p3 (state, signature against
    the platform's JWKS, issuer, client id, deployment, nonce, expiry, message), then acted on."""
    message_launch = DjangoMessageLaunch(
        request,
        ProctoToolConf(),
        session_service=SingleUseNonceSessionService(request),
        launch_data_storage=launch_data_storage(),
    )
    try:
        launch_data = message_launch.get_launch_data()
    except LtiException as error:
        return _refused(request, 400, f"The launch could not be verified: {error}.")
    if not message_launch.is_resource_launch():
        return _refused(request, 400, "Procto only opens resource links for now.")
    platform = platform_find(launch_data["iss"], message_launch.get_client_id())
    try:
        outcome = launch_accept(platform=platform, launch_data=launch_data)
    except LaunchRefused as error:
        return _refused(request, error.status, error.message)
    login(request, outcome.user, backend="django.contrib.auth.backends.ModelBackend")
    if outcome.exam is not None:
        return redirect("exam-consent", exam_id=outcome.exam.pk)
    return redirect("home")


@require_GET
def lti_jwks(request: HttpRequest) -> JsonResponse:
    """Procto's public keys, newest first (platforms verify our signed messages with them)."""
    return JsonResponse(tool_jwks())
