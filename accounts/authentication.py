from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from accounts.errors import TokenError
from accounts.models import User
from accounts.selectors import access_token_user


class AccessTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <access token>`; refresh tokens and revoked logins are refused."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[User, str] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None  # let session authentication have a go
        if len(parts) != 2:
            raise TokenError(gettext("Authorization header must be 'Bearer <token>'."))
        token = parts[1].decode("latin-1")
        user = access_token_user(token=token)
        # DRF finds a token's user after the middleware (accounts.middleware.UserLanguageMiddleware)
        # ran: the API's messages speak the user's own language from here on.
        if user.language in dict(settings.LANGUAGES):
            translation.activate(user.language)
            request._request.LANGUAGE_CODE = user.language
        return user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) to unauthenticated API calls.
        return 'Bearer realm="api"'
