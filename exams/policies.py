"""Rules about who may sit an exam, used by the session-start service and the pages."""

from __future__ import annotations

from accounts.models import User
from exams.errors import IdentityNotVerified
from exams.models import Exam


def exam_requires_verified_identity(exam: Exam) -> bool:
    return exam.security_level == Exam.SecurityLevel.HIGH


def exam_identity_check(*, exam: Exam, student: User) -> None:
    """Raise IdentityNotVerified when a high-security exam meets an unverified student."""
    if exam_requires_verified_identity(exam) and not student.is_verified:
        raise IdentityNotVerified()
