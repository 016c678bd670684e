from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from exams.models import Exam, Question
from exams.settings_fields import EXAM_SETTING_NAMES
from procto.errors import ConflictError

EXAM_FIELDS = {
    "title",
    "description",
    "duration_minutes",
    "start_time",
    "end_time",
    "is_published",
    *EXAM_SETTING_NAMES,
}


def _questions_replace(exam: Exam, questions: Iterable[dict]) -> None:
    exam.questions.all().delete()
    for position, fields in enumerate(questions, start=1):
        question = Question(exam=exam, order=position, **fields)
        try:
            question.full_clean()
        except ValidationError as exc:
            # Say which question: "questions.3.correct_answer" rather than a bare field name.
            raise ValidationError(
                {f"questions.{position}.{field}": errors for field, errors in exc.message_dict.items()}
            ) from exc
        question.save()


@transaction.atomic
def exam_create(
    *,
    author: User,
    title: str,
    duration_minutes: int,
    start_time: datetime,
    end_time: datetime,
    questions: Iterable[dict] = (),
    **settings,
) -> Exam:
    """Create an exam and its questions in one transaction; every question is validated.

    `questions` are dicts of Question fields; their order is the order given. Raises
    ValidationError (and writes nothing) if the exam or any question is invalid.
    """
    exam = Exam(
        created_by=author,
        title=title,
        duration_minutes=duration_minutes,
        start_time=start_time,
        end_time=end_time,
        **settings,
    )
    exam.full_clean()
    exam.save()
    _questions_replace(exam, questions)
    return exam


@transaction.atomic
def exam_update(*, exam: Exam, questions: Iterable[dict] | None = None, **fields) -> Exam:
    """Change an exam's fields, and replace its questions if given.

    Questions cannot change once a student has started the exam (answers refer to them): that
    raises ConflictError. Raises ValidationError for invalid values.
    """
    exam = Exam.objects.select_for_update().get(pk=exam.pk)
    for name, value in fields.items():
        if name not in EXAM_FIELDS:
            raise ValueError(f"not an exam field: {name}")
        setattr(exam, name, value)
    exam.full_clean()
    exam.save()
    if questions is not None:
        if exam.sessions.exists():
            raise ConflictError(
                "Students have already started this exam; its questions can no longer change.",
                code="EXAM_HAS_ATTEMPTS",
            )
        _questions_replace(exam, questions)
    return exam


@transaction.atomic
def exam_delete(*, exam: Exam) -> None:
    """Delete an exam nobody has sat. Sessions are records of students' work and are kept."""
    if exam.sessions.exists():
        raise ConflictError(
            "Students have sat this exam; unpublish it instead of deleting it.",
            code="EXAM_HAS_ATTEMPTS",
        )
    exam.delete()


@transaction.atomic
def exam_duplicate(*, exam: Exam, author: User) -> Exam:
    """An unpublished copy with the same settings and questions, authored by `author`."""
    fields = {name: getattr(exam, name) for name in EXAM_FIELDS}
    fields.update(title=f"Copy of {exam.title}"[:200], is_published=False)
    copy = Exam.objects.create(created_by=author, **fields)
    for question in exam.questions.order_by("order", "id"):
        question.pk = None
        question.exam = copy
        question.save()
    return copy


@transaction.atomic
def exam_questions_append(*, exam: Exam, questions: list[dict]) -> int:
    """Add imported questions after the existing ones; all or nothing. Returns how many."""
    start = exam.questions.count()
    for offset, fields in enumerate(questions, start=1):
        question = Question(exam=exam, order=start + offset, **fields)
        question.full_clean()
        question.save()
    return len(questions)
