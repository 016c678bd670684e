from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import UserFactory
from exams.models import Exam, Question
from exams.services import course_teacher_keep, exam_create

pytestmark = pytest.mark.django_db


def create(**overrides) -> Exam:
    now = timezone.now()
    fields = {
        "author": UserFactory(role=User.Role.TEACHER),
        "title": "Algebra",
        "duration_minutes": 45,
        "start_time": now,
        "end_time": now + timedelta(days=1),
    }
    return exam_create(**(fields | overrides))


def test_questions_keep_the_order_they_were_given_in():
    exam = create(
        questions=[
            {"type": "Paragraph", "text": "first"},
            {"type": "Code", "text": "second", "language": "python"},
        ]
    )
    assert list(exam.questions.values_list("text", "order")) == [("first", 1), ("second", 2)]


def test_one_invalid_question_leaves_no_half_created_exam():
    with pytest.raises(ValidationError):
        create(
            questions=[
                {"type": "Paragraph", "text": "fine"},
                {"type": "MCQ", "text": "broken", "options": ["a", "b"], "correct_answer": "x"},
            ]
        )
    assert not Exam.objects.exists()
    assert not Question.objects.exists()


def test_a_teacher_who_saves_a_course_keeps_teaching_it_and_an_admin_is_left_as_the_form_says(world):
    physics = world.physics.course
    physics.teachers.clear()
    course_teacher_keep(course=physics, actor=world.tess)
    course_teacher_keep(course=physics, actor=world.ada)
    assert list(physics.teachers.all()) == [world.tess]
