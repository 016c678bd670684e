"""A proctor's live monitor follows their assignments as they change, not only when it connects.

However the change is made (admin, shell, a service), removing a proctor from an exam or
changing a user's role reaches their open monitor sockets, which then leave the groups of the
exams they may no longer watch (and join new ones). Likewise an exam's risk weights: when they
change, its sessions' scores are computed again.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import m2m_changed, post_save, pre_save
from django.dispatch import receiver

from accounts.models import User
from exams.models import Exam
from proctoring import realtime
from proctoring.services import exam_sessions_risk_update


@receiver(m2m_changed, sender=Exam.proctors.through)
def proctor_assignments_changed(sender, instance, action: str, reverse: bool, pk_set, **kwargs) -> None:
    if action == "pre_clear":
        # After the clear the rows are gone: remember whom they named.
        instance._cleared_proctor_ids = (
            [instance.pk] if reverse else list(instance.proctors.values_list("pk", flat=True))
        )
        return
    if action == "post_clear":
        realtime.monitor_scope_changed(getattr(instance, "_cleared_proctor_ids", []))
    elif action in ("post_add", "post_remove"):
        realtime.monitor_scope_changed([instance.pk] if reverse else pk_set or [])


@receiver(pre_save, sender=User)
def remember_role_change(sender, instance: User, update_fields=None, **kwargs) -> None:
    if instance.pk is None or (update_fields is not None and "role" not in update_fields):
        return
    before = User.objects.filter(pk=instance.pk).values_list("role", flat=True).first()
    instance._role_changed = before is not None and before != instance.role


@receiver(post_save, sender=User)
def rescope_monitors_after_role_change(sender, instance: User, created: bool, **kwargs) -> None:
    if getattr(instance, "_role_changed", False):
        instance._role_changed = False
        realtime.monitor_scope_changed([instance.pk])


@receiver(pre_save, sender=Exam)
def remember_risk_weights_change(sender, instance: Exam, update_fields=None, **kwargs) -> None:
    if instance.pk is None or (update_fields is not None and "risk_weights" not in update_fields):
        return
    before = Exam.objects.filter(pk=instance.pk).values_list("risk_weights", flat=True).first()
    instance._risk_weights_changed = before is not None and (before or {}) != (instance.risk_weights or {})


@receiver(post_save, sender=Exam)
def rescore_after_risk_weights_change(sender, instance: Exam, created: bool, **kwargs) -> None:
    """However the weights change (admin, API, shell), the sessions' stored scores follow them,
    after commit. robust: a failure is logged; each session's next event rescores it anyway."""
    if getattr(instance, "_risk_weights_changed", False):
        instance._risk_weights_changed = False
        exam_id = instance.pk
        transaction.on_commit(lambda: exam_sessions_risk_update(exam_id=exam_id), robust=True)
