"""Revocation that must happen however a user is changed (pages, API, admin, shell)."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from accounts import realtime, services
from accounts.audit import audit_record
from accounts.models import AuditEntry, User

# What a role is made of: a change to any of these is a change of what the person may do.
ROLE_FIELDS = ("role", "is_staff", "is_superuser")


@receiver(pre_save, sender=User)
def revoke_tokens_of_deactivated_user(sender, instance: User, **kwargs) -> None:
    if instance.pk is None or instance.is_active:
        return
    was_active = User.objects.filter(pk=instance.pk, is_active=True).exists()
    if was_active:
        instance.token_version += 1
        instance._revoked_reason = "deactivated"


@receiver(post_save, sender=User)
def close_sockets_of_revoked_user(sender, instance: User, created: bool, **kwargs) -> None:
    reason = getattr(instance, "_revoked_reason", None) or (
        "password-changed" if getattr(instance, "_password_changed", False) else None
    )
    if reason and not created:
        realtime.sockets_close(realtime.user_group(instance.pk), reason=reason)
    instance._revoked_reason = None
    instance._password_changed = False


@receiver(user_logged_out)
def close_sockets_of_ended_page_session(sender, request, user, **kwargs) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        services.ws_login_end(login_id=realtime.session_login_id(session_key), reason="logout")


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs) -> None:
    # Pages, the admin and LTI launches sign in through django.contrib.auth.login; the API's
    # token login sends the same signal (accounts.services.login_with_password).
    audit_record(action=AuditEntry.Action.LOGIN, actor=user, target=user, request=request)


@receiver(user_logged_out)
def audit_logout(sender, request, user, **kwargs) -> None:
    if user is not None:
        audit_record(action=AuditEntry.Action.LOGOUT, actor=user, target=user, request=request)


@receiver(pre_save, sender=User)
def note_role_change(sender, instance: User, update_fields=None, **kwargs) -> None:
    if update_fields is not None and not set(ROLE_FIELDS) & set(update_fields):
        instance._role_change = None  # e.g. last_login at every login: no query
        return
    before = User.objects.filter(pk=instance.pk).values(*ROLE_FIELDS).first() if instance.pk else None
    after = {field: getattr(instance, field) for field in ROLE_FIELDS}
    if before is None:
        # A new account with more than a student's rights is a role being granted.
        granted = after["role"] != User.Role.STUDENT or after["is_staff"] or after["is_superuser"]
        instance._role_change = ({}, after) if granted else None
    else:
        instance._role_change = (before, after) if before != after else None


@receiver(post_save, sender=User)
def audit_role_change(sender, instance: User, **kwargs) -> None:
    change = getattr(instance, "_role_change", None)
    instance._role_change = None
    if change:
        before, after = change
        changed = {
            field: {"from": before.get(field), "to": after[field]}
            for field in after
            if before.get(field) != after[field]
        }
        audit_record(action=AuditEntry.Action.ROLE_CHANGE, target=instance, details={"changed": changed})
