from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import tzinfo

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from accounts import email_limits, login_limits, realtime, registration, tokens
from accounts.errors import (
    AccountLocked,
    EmailTaken,
    InvalidCredentials,
    RegistrationLinkInvalid,
    TokenError,
)
from accounts.models import RefreshToken, TokenFamily, User
from accounts.registration import registration_check

WS_TICKET_PREFIX = "ws-ticket:"
WS_LOGIN_ENDED_PREFIX = "ws-login-ended:"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    access_expires_in: int
    user: User


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str | None,
    role: str = User.Role.STUDENT,
    first_name: str = "",
    last_name: str = "",
    institution: str = "",
) -> User:
    """Create a user of `role`; teachers and admins get Django-admin access (they author there).

    An admin becomes a Django superuser. A `None` password leaves the account unusable until a
    password is set (e.g. through reset).
    """
    fields = {
        "first_name": first_name,
        "last_name": last_name,
        "institution": institution,
    }
    if role == User.Role.ADMIN:
        return User.objects.create_superuser(email, password, **fields)
    return User.objects.create_user(email, password, role=role, **fields)


REGISTRATION_PREFIX = "registration:"


def _registration_key(token: str) -> str:
    # The cache holds a hash of the token: a copy of the cache cannot finish anyone's registration.
    return REGISTRATION_PREFIX + hashlib.sha256(token.encode()).hexdigest()


def user_register(
    *,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    institution: str = "",
    client_address: str | None = None,
) -> None:
    """Self-registration, students only, as REGISTRATION_POLICY allows: nothing is created yet.

    The answer is the same whether or not `email` has an account (no enumeration): a new address
    gets a link to finish (registration_confirm, which asks for the password again); an address
    with an account gets a notice instead ("sign in, or reset your password"). Both count
    against the account e-mail limits (accounts.email_limits); past the recipient's, nothing is
    sent. Both branches hash the password, so neither answers faster.

    Raises RegistrationClosed, EmailDomainNotAllowed, TooManyEmailRequests, or django
    ValidationError for a weak password.
    """
    registration_check(email=email)
    candidate = User(email=email, first_name=first_name, last_name=last_name)
    validate_password(password, user=candidate)
    password_hash = make_password(password)
    if not email_limits.account_email_allow(recipient=email, client_address=client_address):
        return
    if User.objects.filter(email__iexact=email).exists():
        registration.registration_notice_send(email=email)
        return
    token = secrets.token_urlsafe(32)
    pending = {
        "email": email,
        "password_hash": password_hash,
        "first_name": first_name,
        "last_name": last_name,
        "institution": institution,
    }
    cache.set(_registration_key(token), pending, timeout=settings.REGISTRATION_LINK_SECONDS)
    registration.registration_link_send(email=email, token=token)


@transaction.atomic
def registration_confirm(*, token: str, password: str) -> User:
    """Finish a registration from its e-mailed link: the student account is created, with the
    password chosen at registration, which the person following the link must type again (so a
    link sent to someone who did not register cannot give them an account whose password a
    stranger chose). The link works once.

    Raises RegistrationLinkInvalid, InvalidCredentials (wrong password), RegistrationClosed,
    EmailDomainNotAllowed, EmailTaken (the address got an account meanwhile).
    """
    key = _registration_key(token)
    pending = cache.get(key)
    if not pending:
        raise RegistrationLinkInvalid()
    if not check_password(password, pending["password_hash"]):
        raise InvalidCredentials("That is not the password you chose when you registered.")
    # delete() reports whether this caller removed the key: of two racing confirmations, one wins.
    if not cache.delete(key):
        raise RegistrationLinkInvalid()
    registration_check(email=pending["email"])
    if User.objects.filter(email__iexact=pending["email"]).exists():
        raise EmailTaken(gettext("This address already has an account: sign in, or reset your password."))
    user = user_create(
        email=pending["email"],
        password=None,
        first_name=pending["first_name"],
        last_name=pending["last_name"],
        institution=pending["institution"],
    )
    user.password = pending["password_hash"]
    user.save(update_fields=["password"])
    return user


def user_authenticate(*, request, email: str, password: str) -> User:
    """Check a password under the login throttle. Raises AccountLocked or InvalidCredentials.

    django-axes (its backend, first in AUTHENTICATION_BACKENDS) counts failures per (e-mail,
    client address) pair, whether or not an account has that e-mail, and refuses a locked pair
    before the password is checked (accounts.login_limits). A success forgets the pair's failures.
    """
    user = authenticate(request, email=email, password=password)
    if user is None:
        if getattr(request, "axes_locked_out", False):
            seconds = login_limits.seconds_locked(request)
            raise AccountLocked(login_limits.locked_message(seconds), retry_after=seconds)
        raise InvalidCredentials()
    axes_reset(ip=login_limits.client_address(request), username=login_limits.attempt_username(request, None))
    return user


def _refresh_token_issue(*, family: TokenFamily, now) -> str:
    token, claims = tokens.encode(
        user_id=family.user_id,
        token_type=tokens.REFRESH,
        family_id=family.id,
        token_version=family.user.token_version,
        now=now,
    )
    RefreshToken.objects.create(jti=claims.jti, family=family, issued_at=now, expires_at=claims.expires_at)
    return token


def _pair(*, family: TokenFamily, now) -> TokenPair:
    access, _ = tokens.encode(
        user_id=family.user_id,
        token_type=tokens.ACCESS,
        family_id=family.id,
        token_version=family.user.token_version,
        now=now,
    )
    return TokenPair(
        access_token=access,
        refresh_token=_refresh_token_issue(family=family, now=now),
        access_expires_in=settings.ACCESS_TOKEN_LIFETIME_SECONDS,
        user=family.user,
    )


@transaction.atomic
def token_pair_issue(*, user: User, ip: str | None = None, user_agent: str = "") -> TokenPair:
    """Start a new API login (token family) for `user` and issue its first token pair."""
    family = TokenFamily.objects.create(user=user, ip=ip, user_agent=user_agent[:300])
    return _pair(family=family, now=timezone.now())


def token_refresh(*, refresh_token: str) -> TokenPair:
    """Rotate: the presented refresh token is spent and a new pair issued in the same family.

    Presenting an already-spent refresh token means it was copied: the whole family (that
    login) is revoked and its sockets closed. Raises TokenError.
    """
    claims = tokens.decode(refresh_token, expected_type=tokens.REFRESH)
    with transaction.atomic():
        record = (
            RefreshToken.objects.select_for_update(of=("self",))
            .select_related("family__user")
            .filter(jti=claims.jti, family_id=claims.family_id)
            .first()
        )
        if record is None:
            raise TokenError(gettext("Unknown refresh token."))
        family = record.family
        if family.revoked_at is not None:
            raise TokenError(gettext("This login has ended. Log in again."), code="TOKEN_REVOKED")
        user = family.user
        if not user.is_active or user.token_version != claims.token_version:
            raise TokenError(gettext("This token was revoked. Log in again."), code="TOKEN_REVOKED")
        if record.used_at is None:
            now = timezone.now()
            record.used_at = now
            record.save(update_fields=["used_at"])
            family.last_used_at = now
            family.save(update_fields=["last_used_at"])
            return _pair(family=family, now=now)
        _family_revoke(family, reason="refresh-token-reuse")
    # Raised after the atomic block so the revocation above is committed, not rolled back.
    raise TokenError(
        gettext("This refresh token was already used; the login has been ended for safety."),
        code="TOKEN_REUSED",
    )


def _family_revoke(family: TokenFamily, *, reason: str) -> None:
    if family.revoked_at is None:
        family.revoked_at = timezone.now()
        family.revoked_reason = reason
        family.save(update_fields=["revoked_at", "revoked_reason"])
    ws_login_end(login_id=str(family.id), reason=reason)


@transaction.atomic
def token_family_revoke(*, user: User, family_id: uuid.UUID, reason: str = "logout") -> None:
    """End one API login of `user` (logout on one device). Unknown ids are ignored."""
    family = TokenFamily.objects.select_for_update().filter(id=family_id, user=user).first()
    if family is not None:
        _family_revoke(family, reason=reason)


@transaction.atomic
def user_logout_everywhere(*, user: User, reason: str = "logout-everywhere") -> None:
    """Revoke every token and close every socket of `user` (bumps token_version)."""
    User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    user.refresh_from_db(fields=["token_version"])
    TokenFamily.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )
    realtime.sockets_close(realtime.user_group(user.pk), reason=reason)


def ws_ticket_issue(*, user: User, login_id: str) -> str:
    """A single-use WebSocket ticket valid for WS_TICKET_LIFETIME_SECONDS.

    Browsers cannot set headers on WebSocket upgrades; the ticket goes in the query string
    instead of a long-lived token, so a logged URL is useless within seconds.
    """
    ticket = secrets.token_urlsafe(32)
    cache.set(
        WS_TICKET_PREFIX + ticket,
        {"user_id": user.pk, "login_id": login_id, "token_version": user.token_version},
        timeout=settings.WS_TICKET_LIFETIME_SECONDS,
    )
    return ticket


def ws_ticket_redeem(*, ticket: str) -> tuple[User, str] | None:
    """The user and login a ticket was issued for, once; None if unknown, used or expired, or if
    its login has ended since (logout), or its user's tokens were revoked (password change,
    logout everywhere, deactivation)."""
    key = WS_TICKET_PREFIX + ticket
    data = cache.get(key)
    # delete() reports whether this caller removed the key: of two racing redeemers, one wins.
    if not data or not cache.delete(key):
        return None
    if ws_login_ended(login_id=data["login_id"]):
        return None
    user = User.objects.filter(pk=data["user_id"], is_active=True).first()
    if user is None or user.token_version != data["token_version"]:
        return None
    return user, data["login_id"]


def ws_login_end(*, login_id: str, reason: str) -> None:
    """A login (an API token family, a page session) has ended: refuse the tickets issued for it
    that are still unused, and close its open sockets once the transaction commits.

    The mark only needs to outlive the tickets (WS_TICKET_LIFETIME_SECONDS): an ended login
    issues no new ones, its access token and session being dead.
    """
    cache.set(WS_LOGIN_ENDED_PREFIX + login_id, reason, timeout=settings.WS_TICKET_LIFETIME_SECONDS + 5)
    realtime.sockets_close(realtime.login_group(login_id), reason=reason)


def ws_login_ended(*, login_id: str) -> bool:
    return bool(login_id) and cache.get(WS_LOGIN_ENDED_PREFIX + login_id) is not None


@transaction.atomic
def user_profile_update(
    *,
    user: User,
    first_name: str,
    last_name: str,
    institution: str,
    time_zone: tzinfo | None = None,
    language: str | None = None,
) -> User:
    """`language` "" means the browser's; None leaves it unchanged."""
    user.first_name, user.last_name, user.institution = first_name, last_name, institution
    user.time_zone = time_zone or user.time_zone  # left empty: unchanged (the browser's, once known)
    if language is not None:
        user.language = language
    fields = ["first_name", "last_name", "institution", "time_zone", "language", "updated_at"]
    user.save(update_fields=fields)
    return user


def user_language_set(*, user: User, language: str) -> User:
    """The language the header's picker chose, kept on the account so every device (and the
    e-mails and the PDF) speak it. `language` must be one of settings.LANGUAGES."""
    user.language = language
    user.save(update_fields=["language", "updated_at"])
    return user
