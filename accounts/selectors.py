from __future__ import annotations

from accounts import tokens
from accounts.errors import TokenError
from accounts.models import TokenFamily, User


def access_token_user(*, token: str) -> User:
    """The active user an access token speaks for; TokenError if it is no longer honoured.

    Costs one query: the user joined with the token's login, which must not be revoked.
    """
    claims = tokens.decode(token, expected_type=tokens.ACCESS)
    family = (
        TokenFamily.objects.select_related("user").filter(id=claims.family_id, user_id=claims.user_id).first()
    )
    if family is None or family.revoked_at is not None:
        raise TokenError("This login has ended. Log in again.", code="TOKEN_REVOKED")
    user = family.user
    if not user.is_active:
        raise TokenError("This account is deactivated.", code="ACCOUNT_INACTIVE")
    if user.token_version != claims.token_version:
        raise TokenError("This token was revoked. Log in again.", code="TOKEN_REVOKED")
    return user
