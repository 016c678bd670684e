from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from exams.models import Question
from exams.tests.factories import ExamFactory

pytestmark = pytest.mark.django_db


def question(**fields) -> Question:
    return Question(exam=ExamFactory(), text="Q?", **fields)


@pytest.mark.parametrize(
    ("fields", "field_in_error"),
    [
        ({"type": "MCQ", "options": ["only one"], "correct_answer": "only one"}, "options"),
        ({"type": "MCQ", "options": ["a", "a"], "correct_answer": "a"}, "options"),
        ({"type": "MCQ", "options": ["a", "b"], "correct_answer": "c"}, "correct_answer"),
        ({"type": "MCQ-multiple", "options": ["a", "b"], "correct_answer": "a"}, "correct_answer"),
        (
            {"type": "MCQ-multiple", "options": ["a", "b"], "correct_answer": ["z"]},
            "correct_answer",
        ),
        ({"type": "Paragraph", "options": ["a", "b"]}, "options"),
        ({"type": "Code"}, "language"),
        ({"type": "Image"}, "image"),
    ],
)
def test_a_teacher_gets_a_field_error_for_an_inconsistent_question(fields, field_in_error):
    with pytest.raises(ValidationError) as excinfo:
        question(**fields).full_clean()
    assert field_in_error in excinfo.value.message_dict


def test_consistent_questions_pass_validation():
    question(type="MCQ", options=["a", "b"], correct_answer="b").full_clean()
    question(type="MCQ-multiple", options=["a", "b", "c"], correct_answer=["a", "c"]).full_clean()
    question(type="Code", language="python").full_clean()


def test_an_exam_cannot_close_before_it_opens():
    now = timezone.now()
    with pytest.raises(IntegrityError):
        ExamFactory(start_time=now, end_time=now - timedelta(minutes=1))


def test_an_exam_is_open_only_inside_its_window():
    now = timezone.now()
    assert ExamFactory(start_time=now - timedelta(minutes=1)).is_open
    assert not ExamFactory(start_time=now + timedelta(minutes=5)).is_open
    assert not ExamFactory(start_time=now - timedelta(days=2), end_time=now - timedelta(days=1)).is_open
