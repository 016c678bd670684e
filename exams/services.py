from collections.abc import Iterable
from datetime import datetime

from django.db import transaction

from accounts.models import User
from exams.models import Exam, Question


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
    for position, fields in enumerate(questions, start=1):
        question = Question(exam=exam, order=position, **fields)
        question.full_clean()
        question.save()
    return exam
