"""Revocation that must happen however a user is changed (pages, API, admin, shell)."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from accounts import realtime, services
from accounts.models import User


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
