"""The tool's endpoints: OIDC login initiation, the launch, Procto's public keys, the Deep
Linking picker, and the move of a framed LTI session to a new window.

Platforms post to the first two from another site, so they are exempt from CSRF; pylti1p3's
state (a cookie) and nonce (single use, sessions.lti.tool_config) protect them instead. Inside the
LMS's iframe see sessions.lti.iframe.
"""

from __future__ import annotations

import logging
from urllib.parse import urlparse

import jwt
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pylti1p3.contrib.django.message_launch import DjangoMessageLaunch
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.exception import LtiException, OIDCException

from procto.api import envelope_json_response
from procto.error_pages import error_page
from procto.renderers import now_iso
from sessions.lti import grades
from sessions.lti.iframe import (
    is_framed_navigation,
    launch_session_mark,
    launch_session_platform_id,
    lti_entry,
)
from sessions.lti.keys import tool_jwks, tool_key_current, tool_key_private_pem
from sessions.lti.services import (
    LaunchRefused,
    deep_link_accept,
    deep_link_exam_pick,
    deep_link_exams,
    launch_accept,
    window_handoff_create,
    window_handoff_redeem,
)
from sessions.lti.tool_config import (
    ProctoOIDCLogin,
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


@lti_entry
@csrf_exempt
@require_http_methods(["GET", "POST"])
def lti_login(request: HttpRequest) -> HttpResponse:
    """Third-party login initiation: check the platform is registered, then send the browser to
    its authentication URL with a fresh state (cookie) and nonce. Inside an iframe, first check
    that the frame can keep cookies (else offer a new window: ProctoOIDCLogin)."""
    oidc = ProctoOIDCLogin(
        request,
        ProctoToolConf(),
        session_service=SingleUseNonceSessionService(request),
        launch_data_storage=launch_data_storage(),
    )
    if is_framed_navigation(request):
        oidc.enable_check_cookies()
    try:
        return oidc.redirect(request.build_absolute_uri(reverse("lti-launch")))
    except (OIDCException, LtiException) as error:
        return _refused(request, 400, f"Procto does not know this LMS ({error}).")


@lti_entry
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
        launch_session_mark(request, platform.pk)
        return redirect("lti-deep-link", launch_id=message_launch.get_launch_id())
    if not message_launch.is_resource_launch():
        return _refused(request, 400, "Procto opens resource links and Deep Linking requests only.")
    try:
        outcome = launch_accept(platform=platform, launch_data=launch_data)
    except LaunchRefused as error:
        return _refused(request, error.status, error.message)
    login(request, outcome.user, backend="django.contrib.auth.backends.ModelBackend")
    launch_session_mark(request, platform.pk)
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


@require_POST
def lti_window_open(request: HttpRequest) -> JsonResponse:
    """A framed page's "Open the exam in a new window" (static/js/checks/new-window.js): a link
    that signs the new window in once. Browsers that partition third-party cookies (Firefox)
    give the LMS's iframe a cookie jar of its own, so the new window would not be signed in."""
    platform_id = launch_session_platform_id(request)
    if not request.user.is_authenticated or platform_id is None:
        logger.warning("LTI new window refused: not an LTI session (%s)", request.META.get("REMOTE_ADDR"))
        message = gettext("Only a session opened from the LMS moves to a new window this way.")
        return envelope_json_response("PERMISSION_DENIED", message, 403)
    next_path = request.POST.get("next", "/")
    if not next_path.startswith("/") or not url_has_allowed_host_and_scheme(next_path, allowed_hosts=None):
        logger.warning("LTI new window refused: next %r is not a local path", next_path[:200])
        return envelope_json_response("VALIDATION_ERROR", "next must be a path on this site.", 400)
    token = window_handoff_create(user=request.user, platform_id=platform_id, next_path=next_path)
    url = reverse("lti-window", args=[token])
    return JsonResponse({"success": True, "data": {"url": url}, "timestamp": now_iso()})


@require_GET
def lti_window(request: HttpRequest, token: str) -> HttpResponse:
    """The new window: sign in as the framed session was, and go to the page it showed."""
    handoff = window_handoff_redeem(token=token)
    if handoff is None:
        return _refused(
            request, 400, "This link was used already or is too old. Open the exam from the LMS again."
        )
    login(request, handoff.user, backend="django.contrib.auth.backends.ModelBackend")
    launch_session_mark(request, handoff.platform_id)
    return redirect(handoff.next_path)


@login_required
@require_POST
def exam_lti_scores_retry(request: HttpRequest, exam_id: int) -> HttpResponse:
    """The exam report's "Send again": its refused and given-up LMS scores, or the one named."""
    exam = grades.exam_for_lti_scores(user=request.user, exam_id=exam_id)
    delivery = request.POST.get("delivery")
    count = grades.lti_scores_retry(
        actor=request.user,
        exam=exam,
        delivery_ids=[int(delivery)] if delivery and delivery.isdigit() else None,
    )
    messages.success(
        request, f"{count} score{pluralize(count)} sent to the LMS again: see below how it went."
    )
    return redirect(reverse("exam-report", args=[exam.pk]) + "#lti-scores")
