"""JSON Web Tokens: encoding and strict decoding. Which tokens are still valid is services' job.

Every token carries iss, aud, sub, typ ("access" | "refresh"), jti, iat, nbf, exp, the user's
token_version (ver) and the login it belongs to (fam). Decoding pins the algorithm and requires
every claim, so `alg: none`, a foreign key, a missing claim or a refresh token presented as an
access token are all refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext

from accounts.errors import TokenError

ACCESS = "access"
REFRESH = "refresh"
REQUIRED_CLAIMS = ["iss", "aud", "sub", "typ", "jti", "iat", "nbf", "exp", "ver", "fam"]
CLOCK_SKEW_SECONDS = 5


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    type: str
    jti: uuid.UUID
    family_id: uuid.UUID
    token_version: int
    expires_at: datetime


def encode(
    *,
    user_id: int,
    token_type: str,
    family_id: uuid.UUID,
    token_version: int,
    jti: uuid.UUID | None = None,
    now: datetime | None = None,
) -> tuple[str, TokenClaims]:
    now = now or timezone.now()
    lifetime = (
        settings.ACCESS_TOKEN_LIFETIME_SECONDS
        if token_type == ACCESS
        else settings.REFRESH_TOKEN_LIFETIME_SECONDS
    )
    claims = TokenClaims(
        user_id=user_id,
        type=token_type,
        jti=jti or uuid.uuid4(),
        family_id=family_id,
        token_version=token_version,
        expires_at=now + timedelta(seconds=lifetime),
    )
    payload = {
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "sub": str(user_id),
        "typ": token_type,
        "jti": str(claims.jti),
        "fam": str(family_id),
        "ver": token_version,
        "iat": now,
        "nbf": now,
        "exp": claims.expires_at,
    }
    token = jwt.encode(payload, settings.JWT_SIGNING_KEY, algorithm=settings.JWT_ALGORITHM)
    return token, claims


def decode(token: str, *, expected_type: str) -> TokenClaims:
    """Verify signature and claims; raise TokenError with a specific code otherwise."""
    try:
        payload = jwt.decode(
            token,
            settings.JWT_SIGNING_KEY,
            algorithms=[settings.JWT_ALGORITHM],
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError(gettext("The token has expired."), code="TOKEN_EXPIRED") from exc
    except jwt.ImmatureSignatureError as exc:
        raise TokenError(gettext("The token is not valid yet."), code="TOKEN_NOT_YET_VALID") from exc
    except jwt.PyJWTError as exc:
        raise TokenError(f"The token is invalid ({exc}).") from exc
    if payload["typ"] != expected_type:
        raise TokenError(f"A {payload['typ']} token cannot be used here.", code="TOKEN_WRONG_TYPE")
    try:
        return TokenClaims(
            user_id=int(payload["sub"]),
            type=payload["typ"],
            jti=uuid.UUID(payload["jti"]),
            family_id=uuid.UUID(payload["fam"]),
            token_version=int(payload["ver"]),
            expires_at=datetime.fromtimestamp(payload["exp"], tz=UTC),
        )
    except (TypeError, ValueError) as exc:
        raise TokenError(gettext("The token's claims are malformed.")) from exc
