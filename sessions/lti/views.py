"""The tool's three endpoints: OIDC login initiation, the launch, and Procto's public keys.

Platforms post to the first two from another site, so they are exempt from CSRF; pylti1p3's
state (a cookie) and nonce (single use, sessions.lti.tool_config) protect them instead.
"""

from __future__ import annotations

import logging
from urllib.parse import urlparse

import jwt
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pylti1p3.contrib.django.message_launch import DjangoMessageLaunch
from pylti1p3.contrib.django.oidc_login import DjangoOIDCLogin
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.exception import LtiException, OIDCException

from procto.error_pages import error_page
from sessions.lti.keys import tool_jwks, tool_key_current, tool_key_private_pem
from sessions.lti.services import (
    LaunchRefused,
    deep_link_accept,
    deep_link_exam_pick,
    deep_link_exams,
    launch_accept,
)
from sessions.lti.tool_config import (
    ProctoToolConf,
    SingleUseNonceSessionService,
    launch_data_storage,
    platform_find,
)
from sessions.models import LtiUser

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
    try:
        # Over HTTPS the constructor already needs pylti1p3's session cookie from the login step.
        message_launch = DjangoMessageLaunch(
            request,
            ProctoToolConf(),
            session_service=SingleUseNonceSessionService(request),
            launch_data_storage=launch_data_storage(),
        )
        launch_data = message_launch.get_launch_data()
    except LtiException as error:
        return _refused(request, 400, f"The launch could not be verified: {error}.")
    platform = platform_find(launch_data["iss"], message_launch.get_client_id())
    if message_launch.is_deep_link_launch():
        try:
            user = deep_link_accept(platform=platform, launch_data=launch_data)
        except LaunchRefused as error:
            return _refused(request, error.status, error.message)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("lti-deep-link", launch_id=message_launch.get_launch_id())
    if not message_launch.is_resource_launch():
        return _refused(request, 400, "Procto opens resource links and Deep Linking requests only.")
    try:
        outcome = launch_accept(platform=platform, launch_data=launch_data)
    except LaunchRefused as error:
        return _refused(request, error.status, error.message)
    login(request, outcome.user, backend="django.contrib.auth.backends.ModelBackend")
    if outcome.exam is not None:
        return redirect("exam-consent", exam_id=outcome.exam.pk)
    return redirect("home")


@login_required
@require_http_methods(["GET", "POST"])
def lti_deep_link(request: HttpRequest, launch_id: str) -> HttpResponse:
    """The exam picker of a Deep Linking launch; the pick goes back to the LMS as a signed
    LtiDeepLinkingResponse (an auto-submitted form to its deep_link_return_url)."""
    try:
        message_launch = DjangoMessageLaunch.from_cache(
            launch_id, request, ProctoToolConf(), launch_data_storage=launch_data_storage()
        )
    except LtiException as error:
        return _refused(request, 400, f"This exam picker has expired; open it again from the LMS ({error}).")
    launch_data = message_launch.get_launch_data()
    platform = platform_find(launch_data["iss"], message_launch.get_client_id())
    # The picker belongs to the teacher the launch signed in, not to whoever has its URL.
    if (
        not message_launch.is_deep_link_launch()
        or not LtiUser.objects.filter(platform=platform, sub=launch_data["sub"], user=request.user).exists()
    ):
        return _refused(request, 403, "This exam picker was opened for someone else.")
    if request.method == "GET":
        exams = deep_link_exams(platform=platform, launch_data=launch_data, user=request.user)
        return render(request, "sessions/lti_deep_link.html", {"exams": exams})
    try:
        exam = deep_link_exam_pick(
            platform=platform, launch_data=launch_data, user=request.user, exam_id=request.POST.get("exam")
        )
    except LaunchRefused as error:
        return _refused(request, error.status, error.message)
    return _deep_link_response(request, message_launch, exam)


def _deep_link_response(request: HttpRequest, message_launch: DjangoMessageLaunch, exam) -> HttpResponse:
    resource = (
        DeepLinkResource()
        .set_url(request.build_absolute_uri(reverse("lti-launch")))
        .set_title(exam.title)
        .set_custom_params({"procto_exam_id": str(exam.pk)})
    )
    deep_link = message_launch.get_deep_link()
    # pylti1p3 shapes the message; we sign it ourselves, with the current key's id in the header.
    key = tool_key_current()
    message = jwt.encode(
        deep_link.get_message_jwt([resource]),
        tool_key_private_pem(key),
        algorithm="RS256",
        headers={"kid": key.kid},
    )
    return_url = message_launch.get_launch_data()[
        "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
    ]["deep_link_return_url"]
    origin = urlparse(return_url)
    if origin.scheme not in ("http", "https") or not origin.netloc:
        return _refused(request, 400, "The LMS gave no web address to return the chosen exam to.")
    response = render(
        request,
        "sessions/lti_deep_link_return.html",
        {"return_url": return_url, "jwt": message, "exam": exam},
    )
    # The Content-Security-Policy lets forms post to our own site only; this one goes to the LMS.
    response._csp_update = {"form-action": [f"{origin.scheme}://{origin.netloc}"]}
    return response


@require_GET
def lti_jwks(request: HttpRequest) -> JsonResponse:
    """Procto's public keys, newest first (platforms verify our signed messages with them)."""
    return JsonResponse(tool_jwks())
