"""What an administrator does with one person's data (docs/PRIVACY.md): a copy of everything
Procto holds about them (a ZIP), a purge of their proctoring data, and the deletion of their
account. Each needs the administrator role (Can.MANAGE_USERS) and leaves an audit entry.

Most of a person's data lives in the apps above accounts (sessions, answers, events and their
media), so proctoring fills in this module's hook at start-up (`personal_data_handlers_set`,
from proctoring.apps). Accounts deletes what it holds itself: the identity images, the face
embedding, the verification history and the login throttle's records. Without the hook none of
the three runs (fail-closed): an account deleted without it would leave its sessions' media
behind. Deleting a user any other way (the shell, a script) goes through the same purge, from a
pre_delete receiver, unaudited.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.core.exceptions import ImproperlyConfigured
from django.db import router, transaction
from django.db.models.deletion import Collector, ProtectedError, RestrictedError
from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.translation import gettext

from accounts import realtime
from accounts.audit import audit_addresses_forget, audit_record
from accounts.models import AuditEntry, IdentityVerification, User
from accounts.permissions import Can, user_can
from procto.encrypted_files import delete_encrypted
from procto.errors import ConflictError, ForbiddenError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PersonalDataHandlers:
    # Why the person's data cannot be purged now (e.g. they are sitting an exam), one sentence
    # each; empty when it can.
    blockers: Callable[[User], list[str]]
    # Deletes the person's proctoring data held above accounts; returns what went, by kind.
    purge: Callable[[User], Counter]
    # Writes the person's export, a ZIP, into the binary file `out`; returns its member names.
    export: Callable[[User, BinaryIO], list[str]]


_handlers: PersonalDataHandlers | None = None


def personal_data_handlers_set(handlers: PersonalDataHandlers) -> None:
    """Called once at start-up by the app that knows the rest of a person's data (proctoring)."""
    global _handlers
    _handlers = handlers


def _installed() -> PersonalDataHandlers:
    if _handlers is None:
        raise ImproperlyConfigured("No personal data handlers: proctoring.apps installs them.")
    return _handlers


def personal_data_blockers(user: User) -> list[str]:
    """Why `user`'s data cannot be purged or their account deleted now; empty when it can."""
    return _installed().blockers(user)


def _check(actor: User, user: User) -> None:
    if not user_can(actor, Can.MANAGE_USERS):
        raise ForbiddenError(gettext("Only an administrator may export, purge or delete a person's data."))
    blockers = personal_data_blockers(user)
    if blockers:
        raise ConflictError(" ".join(blockers), code="PERSON_BUSY")


def _deletable(user: User) -> None:
    """Refuse, before anything is purged, an account other records protect (the exams a teacher
    authored, a proctor's actions): files deleted first could not come back when the row stays."""
    try:
        Collector(using=router.db_for_write(User)).collect([user])
    except (ProtectedError, RestrictedError) as exc:
        blocking = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
        kinds = sorted({str(obj._meta.verbose_name_plural) for obj in blocking})
        raise ConflictError(
            f"{user.email} cannot be deleted: {', '.join(kinds)} refer to the account.",
            code="ACCOUNT_PROTECTED",
        ) from exc


# --- accounts' own part ----------------------------------------------------------------------------


def identity_data_delete(user: User) -> Counter:
    """Delete the person's identity images (current and past, files first), face embedding and
    verification history; they are no longer verified. Returns what went."""
    verifications = IdentityVerification.objects.filter(user=user)
    current = User.objects.filter(pk=user.pk).values_list("photo", "id_card").get()
    past = [name for names in verifications.values_list("photo", "id_card", "live_capture") for name in names]
    names = [name for name in dict.fromkeys([*current, *past]) if name]
    for name in names:
        delete_encrypted(name)
    count, _ = verifications.delete()
    User.objects.filter(pk=user.pk).update(
        photo="", id_card="", face_embedding=None, is_verified=False, verified_at=None
    )
    user.refresh_from_db()
    return Counter(identity_images=len(names), identity_verifications=count)


def login_records_delete(user: User) -> Counter:
    """The login throttle's records of the person's e-mail address (addresses, browsers)."""
    count = 0
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        deleted, _ = model.objects.filter(username__iexact=user.email).delete()
        count += deleted
    return Counter(login_records=count)


def _purge(user: User) -> Counter:
    blockers = personal_data_blockers(user)
    if blockers:
        raise ConflictError(" ".join(blockers), code="PERSON_BUSY")
    return _installed().purge(user) + identity_data_delete(user)


# --- the three actions -----------------------------------------------------------------------------


def personal_data_export(
    *, actor: User, user: User, out: BinaryIO, request: HttpRequest | None = None
) -> list[str]:
    """Write everything Procto holds about `user` into `out` as a ZIP (its contents: PRIVACY.md,
    "The export"); returns the ZIP's member names. Audited. Raises ForbiddenError."""
    if not user_can(actor, Can.MANAGE_USERS):
        raise ForbiddenError(gettext("Only an administrator may export, purge or delete a person's data."))
    members = _installed().export(user, out)
    audit_record(
        action=AuditEntry.Action.DATA_EXPORT,
        actor=actor,
        target=user,
        request=request,
        details={"files": len(members), "bytes": out.tell()},
    )
    return members


@transaction.atomic
def personal_data_purge(*, actor: User, user: User, request: HttpRequest | None = None) -> Counter:
    """Delete `user`'s proctoring data: their sessions' media, events, samples, checks, and their
    identity images; keep the account, the attempts with their scores and answers (PRIVACY.md,
    "Purging a person's proctoring data"). Audited. Raises ForbiddenError, or ConflictError
    while they sit an exam (nothing is deleted then)."""
    _check(actor, user)
    deleted = _purge(user)
    audit_record(
        action=AuditEntry.Action.DATA_PURGE, actor=actor, target=user, request=request, details=dict(deleted)
    )
    logger.info("proctoring data of user %s purged by %s: %s", user.pk, actor.pk, dict(deleted))
    return deleted


@transaction.atomic
def account_delete(*, actor: User, user: User, request: HttpRequest | None = None) -> Counter:
    """Delete `user`'s account: their proctoring data and identity images as a purge does, the
    login records of their address, then the account itself with what hangs on it (logins,
    consents, enrolments, admissions, LMS links). Their attempts stay, anonymous (no student),
    with scores and answers (PRIVACY.md, "Deleting an account"). Audited; their open sockets
    close. Raises ForbiddenError, or ConflictError while they sit an exam."""
    _check(actor, user)
    _deletable(user)
    user_id = user.pk
    deleted = _purge(user) + login_records_delete(user)
    deleted["anonymous_sessions"] = user.exam_sessions.count()
    audit_record(
        action=AuditEntry.Action.ACCOUNT_DELETE,
        actor=actor,
        target=user,
        request=request,
        details={"role": user.role, **deleted},
    )
    audit_addresses_forget(user)
    user._personal_data_purged = True
    user.delete()
    realtime.sockets_close(realtime.user_group(user_id), reason="account-deleted")
    logger.info("account %s deleted by %s: %s", user_id, actor.pk, dict(deleted))
    return deleted


@receiver(pre_delete, sender=User)
def purge_before_any_deletion(sender, instance: User, **kwargs) -> None:
    # A user deleted without account_delete (the shell, a script) loses their media too: the
    # sessions would otherwise keep them with nobody left to ask for their deletion.
    if not getattr(instance, "_personal_data_purged", False):
        deleted = _purge(instance) + login_records_delete(instance)
        audit_addresses_forget(instance)
        logger.warning("user %s deleted outside account_delete; purged %s", instance.pk, dict(deleted))
