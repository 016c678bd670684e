from __future__ import annotations

from collections.abc import Iterable

from django.db.models.functions import Lower
from django.utils.translation import gettext

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
        raise TokenError(gettext("This login has ended. Log in again."), code="TOKEN_REVOKED")
    user = family.user
    if not user.is_active:
        raise TokenError(gettext("This account is deactivated."), code="ACCOUNT_INACTIVE")
    if user.token_version != claims.token_version:
        raise TokenError(gettext("This token was revoked. Log in again."), code="TOKEN_REVOKED")
    return user


def users_by_email(emails: Iterable[str]) -> dict[str, User]:
    """The accounts with these addresses, by lower-cased address, in one query: addresses are
    stored as typed (capitals included) and compared without case."""
    wanted = {email.strip().lower() for email in emails}
    return {
        user.email_lower: user
        for user in User.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=wanted)
    }
