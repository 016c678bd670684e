"""The audit trail: `audit_record` writes one AuditEntry and one `audit` log line.

Who acted, from which address and with which browser comes from the request: the one passed in,
else the one being served (procto.log_context.current_request), so a change made deep in a
service or a model signal (a role changed in the admin) is attributed too. Outside a request (a
management command, a worker) only what the caller passes is known.
"""

from __future__ import annotations

import structlog
from django.http import HttpRequest

from accounts.models import AuditEntry, User
from procto.log_context import current_request

logger = structlog.get_logger("procto.audit")

USER_AGENT_MAX = AuditEntry._meta.get_field("user_agent").max_length


def audit_record(
    *,
    action: str,
    actor: User | None = None,
    target: User | None = None,
    request: HttpRequest | None = None,
    details: dict | None = None,
) -> AuditEntry:
    """Store who did `action` to whom, from where. Without an `actor`, the request's user (or
    the request being served) is the actor, if signed in."""
    request = request if request is not None else current_request()
    ip = request.META.get("REMOTE_ADDR") if request is not None else None
    user_agent = request.META.get("HTTP_USER_AGENT", "") if request is not None else ""
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
    entry = AuditEntry.objects.create(
        action=action,
        actor=actor,
        actor_ref=actor.pk if actor is not None else None,
        target=target,
        target_ref=target.pk if target is not None else None,
        ip=ip or None,
        user_agent=(user_agent or "")[:USER_AGENT_MAX],
        details=details or {},
    )
    logger.info(
        "audit",
        action=action,
        actor_id=entry.actor_ref,
        target_id=entry.target_ref,
        audit_ip=entry.ip,
        details=entry.details,
    )
    return entry


def audit_addresses_forget(user: User) -> int:
    """Blank the address and browser of every entry `user` made (their logins and logouts, what
    they did as staff): the trail keeps what happened and their id, not where they were."""
    entries = AuditEntry.objects.filter(actor=user).exclude(ip=None, user_agent="")
    return entries.update(ip=None, user_agent="")
