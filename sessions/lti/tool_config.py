"""pylti1p3's view of our registrations (sessions.models.LtiPlatform), a nonce that can be
used once, and the OIDC login with Procto's own cookie-check page."""

from __future__ import annotations

from urllib.parse import urlencode

import requests
from django.core.cache import cache
from django.template.loader import render_to_string
from django.urls import reverse
from pylti1p3.contrib.django.launch_data_storage.cache import DjangoCacheDataStorage
from pylti1p3.contrib.django.oidc_login import DjangoOIDCLogin
from pylti1p3.contrib.django.session import DjangoSessionService
from pylti1p3.deployment import Deployment
from pylti1p3.registration import Registration
from pylti1p3.service_connector import REQUESTS_USER_AGENT, ServiceConnector
from pylti1p3.tool_config import ToolConfAbstract

from sessions.lti.iframe import iframe_cookies_apply
from sessions.lti.keys import tool_key_current, tool_key_private_pem
from sessions.models import LtiDeployment, LtiPlatform

NONCE_SECONDS = 10 * 60
# Seconds to connect to / wait for an LMS's service (token, roster, scores). pylti1p3 sets none: an
# LMS that took the connection and never answered would hold a worker, or in embedded mode a page.
SERVICE_TIMEOUT = (5, 15)


class ProctoRegistration(Registration):
    """pylti1p3 heads its service token requests with `get_kid()`, which it derives from a tool
    public key we do not give it: here it is the id of the key that signs (tool_key_current)."""

    _kid: str | None = None

    def set_kid(self, kid: str) -> ProctoRegistration:
        self._kid = kid
        return self

    def get_kid(self) -> str | None:
        return self._kid


def _registration(platform: LtiPlatform) -> ProctoRegistration:
    key = tool_key_current()
    registration = (
        ProctoRegistration()
        .set_kid(key.kid)
        .set_issuer(platform.issuer)
        .set_client_id(platform.client_id)
        .set_auth_login_url(platform.auth_login_url)
        .set_auth_token_url(platform.auth_token_url)
        .set_key_set_url(platform.key_set_url or None)
        .set_key_set(platform.key_set or None)
        .set_tool_private_key(tool_key_private_pem(key))
    )
    if platform.auth_audience:
        registration.set_auth_audience(platform.auth_audience)
    return registration


def service_connector(platform: LtiPlatform) -> ServiceConnector:
    """Calls the platform's LTI Advantage services (NRPS, AGS) with an OAuth 2 client-credentials
    token from its token URL, asked for with a JWT signed by Procto's current key."""
    return ServiceConnector(_registration(platform), requests_session=_TimedSession())


class _TimedSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.headers["User-Agent"] = REQUESTS_USER_AGENT

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", SERVICE_TIMEOUT)
        return super().request(*args, **kwargs)


def platform_find(iss: str, client_id: str | None) -> LtiPlatform | None:
    """The active registration of `iss` (and `client_id`; a login initiation may omit it when the
    issuer has only one)."""
    platforms = LtiPlatform.objects.filter(issuer=iss, is_active=True)
    if client_id:
        return platforms.filter(client_id=client_id).first()
    found = list(platforms[:2])
    return found[0] if len(found) == 1 else None


class ProctoToolConf(ToolConfAbstract):
    """Registrations from the database; one issuer may have several client ids."""

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_registration_by_issuer(self, iss, *args, **kwargs):
        platform = platform_find(iss, None)
        return _registration(platform) if platform else None

    def find_registration_by_params(self, iss, client_id, *args, **kwargs):
        platform = platform_find(iss, client_id)
        return _registration(platform) if platform else None

    def find_deployment(self, iss, deployment_id):
        return None  # every issuer is "many clients": pylti1p3 calls find_deployment_by_params

    def find_deployment_by_params(self, iss, deployment_id, client_id, *args, **kwargs):
        known = LtiDeployment.objects.filter(
            platform__issuer=iss,
            platform__client_id=client_id,
            platform__is_active=True,
            deployment_id=deployment_id,
        ).exists()
        return Deployment().set_deployment_id(deployment_id) if known else None


class SingleUseNonceSessionService(DjangoSessionService):
    """pylti1p3 only checks that a nonce was issued, so the same id_token could be posted again;
    here the check consumes it (cache.delete is atomic: of two concurrent replays one wins)."""

    def save_nonce(self, nonce: str) -> None:
        cache.set(f"lti:nonce:{nonce}", True, NONCE_SECONDS)

    def check_nonce(self, nonce: str) -> bool:
        return bool(cache.delete(f"lti:nonce:{nonce}"))


def launch_data_storage() -> DjangoCacheDataStorage:
    return DjangoCacheDataStorage(cache_name="default")


# What pylti1p3 carries from the login initiation to the retry in a new window
# (pylti1p3.oidc_login.OIDCLogin.get_cookies_allowed_js_check).
LOGIN_PARAMETERS = (
    "iss",
    "login_hint",
    "target_link_uri",
    "lti_message_hint",
    "lti_deployment_id",
    "client_id",
)


class ProctoOIDCLogin(DjangoOIDCLogin):
    """pylti1p3's login initiation, whose cookie check (`enable_check_cookies()`) shows Procto's
    page: pylti1p3's own has an inline script, which our Content-Security-Policy refuses.

    Both pages do the same: set a test cookie from the frame; if the browser keeps it, carry on
    in the frame (the login again, with `lti1p3_new_window=1`, which skips the check); if not
    (Safari, Firefox or Chrome blocking third-party cookies), offer that same URL in a new window,
    where Procto is the first party. The test cookie has the SameSite of the cookies the session
    will get (sessions.lti.iframe), so the check fails exactly where the session would."""

    def __init__(self, request, *args, **kwargs) -> None:
        super().__init__(request, *args, **kwargs)
        self._django_request = request

    def get_cookies_allowed_js_check(self) -> str:
        parameters = {"lti1p3_new_window": "1"}
        for name in LOGIN_PARAMETERS:
            value = self._get_request_param(name)
            if value:
                parameters[name] = value
        test_cookie = (
            "SameSite=None; Secure" if iframe_cookies_apply(self._django_request) else "SameSite=Lax"
        )
        context = {
            "continue_url": f"{reverse('lti-login')}?{urlencode(parameters)}",
            "test_cookie": test_cookie,
        }
        return render_to_string("sessions/lti_cookie_check.html", context, request=self._django_request)
