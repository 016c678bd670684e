"""Reads of exams that depend on who is asking."""

from __future__ import annotations

from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.permissions import Can, user_can
from exams.models import Exam
from procto.errors import ForbiddenError, NotFoundError

PAYLOAD_CACHE_SECONDS = 3600


def exams_visible_to(user: User) -> QuerySet[Exam]:
    """Admins: all. Teachers: their own. Proctors: those assigned. Students: published exams
    that have not ended, and any they have sat."""
    exams = Exam.objects.select_related("created_by")
    if user_can(user, Can.SEE_ALL_EXAMS):
        return exams
    if user.role == User.Role.TEACHER:
        return exams.filter(created_by=user)
    if user.role == User.Role.PROCTOR:
        return exams.filter(proctors=user)
    if user_can(user, Can.TAKE_EXAMS):
        return exams.filter(
            Q(is_published=True, end_time__gt=timezone.now()) | Q(sessions__student=user)
        ).distinct()
    return exams.none()


def exams_available_to(student: User) -> QuerySet[Exam]:
    """The exams `student` may start or ask to be admitted to (if open by then): those visible to
    them that are published and have not ended. The dashboard lists them; the start and admission
    services refuse any other. Who sees which exam is decided by `exams_visible_to` alone."""
    return exams_visible_to(student).filter(is_published=True, end_time__gt=timezone.now())


def exam_available_to(*, exam: Exam, student: User) -> bool:
    return exams_available_to(student).filter(pk=exam.pk).exists()


def exam_get_for_user(*, user: User, exam_id, for_edit: bool = False) -> Exam:
    """The exam if `user` may see it (404 otherwise); with for_edit, only its author or an admin."""
    try:
        exam = exams_visible_to(user).get(pk=int(exam_id))
    except (Exam.DoesNotExist, TypeError, ValueError) as exc:
        raise NotFoundError("No such exam.") from exc
    if for_edit and not user_may_edit(user, exam):
        raise ForbiddenError("Only the exam's author or an administrator can change it.")
    return exam


def user_may_edit(user: User, exam: Exam) -> bool:
    if user_can(user, Can.SEE_ALL_EXAMS) and user_can(user, Can.AUTHOR_EXAMS):
        return True
    return user_can(user, Can.AUTHOR_EXAMS) and exam.created_by_id == user.pk


def user_sees_answers(user: User, exam: Exam) -> bool:
    """Correct answers and explanations: authors and admins only (never students, never proctors)."""
    return user_may_edit(user, exam)


def payload_cache_key(exam_id: int) -> str:
    return f"exam:{exam_id}:student-payload"


def exam_student_payload(exam: Exam) -> dict:
    """What any student may see of an exam's questions: no answers, no explanations.

    Cached (Redis in services mode) because every start and reload of every student reads it;
    exams.signals deletes the entry whenever the exam or a question changes.
    """
    key = payload_cache_key(exam.pk)
    payload = cache.get(key)
    if payload is None:
        payload = {
            "questions": {
                str(q.pk): {
                    "id": str(q.pk),
                    "type": q.type,
                    "question_text": q.text,
                    "options": q.options if q.type in q.CHOICE_TYPES else None,
                    "image_url": reverse("question-image", args=[q.pk]) if q.image else None,
                    "language": q.language or None,
                    "points": float(q.points),
                }
                for q in exam.questions.order_by("order", "id")
            }
        }
        cache.set(key, payload, PAYLOAD_CACHE_SECONDS)
    return payload
