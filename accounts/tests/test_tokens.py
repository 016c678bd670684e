"""Every way a forged, stale or misused JWT can be presented is refused."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone

from accounts import services, tokens
from accounts.errors import TokenError

pytestmark = pytest.mark.django_db


def profile(api, token: str):
    return api.get("/api/auth/profile", HTTP_AUTHORIZATION=f"Bearer {token}")


def payload_for(user, **overrides) -> dict:
    now = timezone.now()
    claims = {
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "sub": str(user.pk),
        "typ": "access",
        "jti": str(uuid.uuid4()),
        "fam": str(services.token_pair_issue(user=user).user.token_families.first().id),
        "ver": user.token_version,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
    }
    return claims | overrides


def signed(payload: dict, key: bytes | None = None) -> str:
    return jwt.encode(payload, key or settings.JWT_SIGNING_KEY, algorithm="HS256")


def test_a_fresh_access_token_reaches_the_profile(api, student):
    pair = services.token_pair_issue(user=student)
    response = profile(api, pair.access_token)
    assert response.status_code == 200
    assert response.json()["data"]["email"] == student.email


def test_a_well_formed_token_we_signed_ourselves_is_honoured(api, student):
    # Control for the attacks below: the forging helper itself produces acceptable tokens.
    assert profile(api, signed(payload_for(student))).status_code == 200


def test_alg_none_is_refused(api, student):
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=")
    body = base64.urlsafe_b64encode(
        json.dumps(payload_for(student), default=lambda d: int(d.timestamp())).encode()
    ).rstrip(b"=")
    response = profile(api, f"{header.decode()}.{body.decode()}.")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "TOKEN_INVALID"


def test_a_token_signed_with_another_key_is_refused(api, student):
    response = profile(api, signed(payload_for(student), key=b"k" * 32))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "TOKEN_INVALID"


def test_a_tampered_payload_is_refused(api, student, other_student):
    token = signed(payload_for(student))
    header, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = str(other_student.pk)
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    response = profile(api, f"{header}.{forged_body}.{signature}")
    assert response.status_code == 401


def test_an_expired_token_is_refused_as_expired(api, student):
    past = timezone.now() - timedelta(hours=1)
    token = signed(payload_for(student, iat=past, nbf=past, exp=past + timedelta(minutes=15)))
    response = profile(api, token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "TOKEN_EXPIRED"


def test_a_token_not_valid_yet_is_refused(api, student):
    future = timezone.now() + timedelta(hours=1)
    response = profile(api, signed(payload_for(student, nbf=future)))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "TOKEN_NOT_YET_VALID"


@pytest.mark.parametrize("claim", [{"aud": "someone-else"}, {"iss": "another-issuer"}])
def test_a_token_for_another_audience_or_issuer_is_refused(api, student, claim):
    assert profile(api, signed(payload_for(student, **claim))).status_code == 401


@pytest.mark.parametrize("missing", ["jti", "typ", "ver", "fam", "exp"])
def test_a_token_missing_a_required_claim_is_refused(api, student, missing):
    claims = payload_for(student)
    del claims[missing]
    assert profile(api, signed(claims)).status_code == 401


def test_a_refresh_token_cannot_be_used_as_an_access_token(api, student):
    pair = services.token_pair_issue(user=student)
    response = profile(api, pair.refresh_token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "TOKEN_WRONG_TYPE"


def test_an_access_token_cannot_be_used_to_refresh(api, student):
    pair = services.token_pair_issue(user=student)
    response = api.post("/api/auth/refresh", {"refreshToken": pair.access_token}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "TOKEN_WRONG_TYPE"


def test_bumping_token_version_revokes_every_token(api, student):
    pair = services.token_pair_issue(user=student)
    services.user_logout_everywhere(user=student)
    assert profile(api, pair.access_token).json()["error"]["code"] == "TOKEN_REVOKED"
    refreshed = api.post("/api/auth/refresh", {"refreshToken": pair.refresh_token}, format="json")
    assert refreshed.status_code == 401


def test_changing_the_password_revokes_every_token(api, student):
    pair = services.token_pair_issue(user=student)
    student.set_password("a-brand-new-passphrase")
    student.save()
    assert profile(api, pair.access_token).status_code == 401


def test_deactivating_a_user_revokes_their_tokens(api, student):
    pair = services.token_pair_issue(user=student)
    student.is_active = False
    student.save()
    assert profile(api, pair.access_token).status_code == 401


def test_refresh_rotates_and_each_refresh_token_works_once(api, student):
    first = services.token_pair_issue(user=student)
    response = api.post("/api/auth/refresh", {"refreshToken": first.refresh_token}, format="json")
    assert response.status_code == 200
    second = response.json()["data"]
    assert second["refreshToken"] != first.refresh_token
    assert profile(api, second["accessToken"]).status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_whole_login(api, student):
    first = services.token_pair_issue(user=student)
    second = services.token_refresh(refresh_token=first.refresh_token)

    # An attacker replays the stolen first token: refused, and the chain is ended...
    replay = api.post("/api/auth/refresh", {"refreshToken": first.refresh_token}, format="json")
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "TOKEN_REUSED"
    # ...so neither the legitimate successor nor its access token work any more.
    with pytest.raises(TokenError):
        services.token_refresh(refresh_token=second.refresh_token)
    assert profile(api, second.access_token).status_code == 401


def test_reuse_revokes_only_that_login_not_the_users_other_devices(api, student):
    laptop = services.token_pair_issue(user=student)
    phone = services.token_pair_issue(user=student)
    services.token_refresh(refresh_token=laptop.refresh_token)
    with pytest.raises(TokenError):
        services.token_refresh(refresh_token=laptop.refresh_token)
    assert profile(api, phone.access_token).status_code == 200


def test_tokens_carry_the_pinned_claims():
    token, _ = tokens.encode(user_id=1, token_type=tokens.ACCESS, family_id=uuid.uuid4(), token_version=3)
    header = jwt.get_unverified_header(token)
    body = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "HS256"
    assert set(tokens.REQUIRED_CLAIMS) <= set(body)
    assert body["exp"] - body["iat"] == 15 * 60
    _, refresh = tokens.encode(user_id=1, token_type=tokens.REFRESH, family_id=uuid.uuid4(), token_version=3)
    assert (refresh.expires_at - timezone.now()) > timedelta(days=6, hours=23)
