"""Who may do what: the one table of role capabilities, and the object rules built on it.

Object scoping (a teacher's own exams, a proctor's assigned exams, whose identity images a
teacher may see) lives in the selectors of the app that owns the objects; they ask `user_can`
for the role part.
"""

from __future__ import annotations

from enum import StrEnum

from rest_framework.permissions import BasePermission

from accounts.models import User


class Can(StrEnum):
    TAKE_EXAMS = "take-exams"
    VERIFY_OWN_IDENTITY = "verify-own-identity"
    AUTHOR_EXAMS = "author-exams"
    DELETE_EXAMS = "delete-exams"
    MONITOR_SESSIONS = "monitor-sessions"
    REVIEW_SESSIONS = "review-sessions"
    REVIEW_IDENTITY = "review-identity"
    SEE_ALL_EXAMS = "see-all-exams"
    MANAGE_USERS = "manage-users"


ROLE_CAPABILITIES: dict[str, frozenset[Can]] = {
    User.Role.STUDENT: frozenset({Can.TAKE_EXAMS, Can.VERIFY_OWN_IDENTITY}),
    User.Role.TEACHER: frozenset(
        {Can.AUTHOR_EXAMS, Can.MONITOR_SESSIONS, Can.REVIEW_SESSIONS, Can.REVIEW_IDENTITY}
    ),
    User.Role.PROCTOR: frozenset({Can.MONITOR_SESSIONS, Can.REVIEW_SESSIONS}),
    User.Role.ADMIN: frozenset(Can) - {Can.TAKE_EXAMS, Can.VERIFY_OWN_IDENTITY},
}


def user_can(user, capability: Can) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return capability in ROLE_CAPABILITIES.get(user.role, frozenset())


def capability_required(capability: Can) -> type[BasePermission]:
    """A DRF permission class admitting users whose role has `capability`."""

    class HasCapability(BasePermission):
        message = f"Your role does not allow this ({capability})."

        def has_permission(self, request, view) -> bool:
            return user_can(request.user, capability)

    HasCapability.__name__ = f"Can_{capability.name}"
    return HasCapability
