"""Short-lived, viewer-bound URLs for a user's encrypted identity images.

A URL is a signed token of (owner, storage name, viewer), valid for FILE_URL_SECONDS. The view
re-checks that the person fetching it is the viewer it was minted for, that the image belongs to
the owner, and that the viewer may still see the owner's images.

Who may see whose images depends on who oversees whom, which only the sessions app knows
(`sessions.selectors.may_view_identity_of`): it sets that rule here when Django starts. Until a
rule is set, users see their own images only.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core import signing
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext

from accounts.models import IdentityVerification, User
from procto.errors import ForbiddenError, NotFoundError

FILE_URL_SECONDS = 300
SALT = "procto.accounts.identity-file"
KINDS = ("photo", "id_card")

ViewerRule = Callable[..., bool]  # (*, viewer: User, owner: User) -> bool
_viewer_rule: ViewerRule | None = None


def identity_viewer_rule_set(rule: ViewerRule) -> None:
    """Install the rule deciding whether `viewer` may see `owner`'s identity images."""
    global _viewer_rule
    _viewer_rule = rule


def may_view_identity_of(*, viewer: User, owner: User) -> bool:
    if _viewer_rule is None:
        return viewer.pk == owner.pk
    return _viewer_rule(viewer=viewer, owner=owner)


def identity_blob_url(*, owner: User, name: str, viewer: User) -> str | None:
    if not name or not may_view_identity_of(viewer=viewer, owner=owner):
        return None
    token = signing.dumps({"o": owner.pk, "n": name, "v": viewer.pk}, salt=SALT, compress=True)
    return reverse("identity-file", args=[token])


def identity_file_url(*, owner: User, kind: str, viewer: User) -> str | None:
    """The URL of the owner's current photo or ID card, for `viewer`; None if not allowed."""
    if kind not in KINDS:
        return None
    return identity_blob_url(owner=owner, name=getattr(owner, kind), viewer=viewer)


def _belongs_to(owner: User, name: str) -> bool:
    if name in (owner.photo, owner.id_card):
        return True
    return IdentityVerification.objects.filter(
        Q(photo=name) | Q(id_card=name) | Q(live_capture=name), user=owner
    ).exists()


def identity_file_name(*, token: str, viewer: User) -> str:
    """The storage name a URL token grants `viewer`; NotFound/Forbidden otherwise."""
    try:
        grant = signing.loads(token, salt=SALT, max_age=FILE_URL_SECONDS)
    except signing.SignatureExpired as exc:
        raise ForbiddenError(gettext("This link has expired; reload the page."), code="LINK_EXPIRED") from exc
    except signing.BadSignature as exc:
        raise NotFoundError() from exc
    if grant.get("v") != viewer.pk:
        raise ForbiddenError(gettext("This link was made for someone else."))
    owner = User.objects.filter(pk=grant.get("o")).first()
    if owner is None or not _belongs_to(owner, grant.get("n", "")):
        raise NotFoundError()
    if not may_view_identity_of(viewer=viewer, owner=owner):
        raise ForbiddenError()
    return grant["n"]
