from datetime import timedelta

import pytest
from django.utils import timezone

from exams.services import exam_create
from exams.tests.factories import enrol

QUESTIONS = [
    {
        "type": "MCQ",
        "text": "Closest planet to the Sun?",
        "options": ["Venus", "Mercury", "Mars"],
        "correct_answer": "Mercury",
        "points": 2,
        "explanation": "About 0.39 AU.",
    },
    {
        "type": "MCQ-multiple",
        "text": "Which are prime?",
        "options": ["2", "4", "7", "9"],
        "correct_answer": ["2", "7"],
        "points": 2,
        "explanation": "4 and 9 are squares.",
    },
    {"type": "Paragraph", "text": "Why is the sky blue?", "points": 3},
    {"type": "Code", "text": "Write is_even(n).", "language": "python", "points": 3},
]


@pytest.fixture
def make_exam(teacher, student, other_student):
    """An open exam by Tess (through the real service, so in her own course), with Stu and Sam
    enrolled in that course: the class these tests are about. `enrolled=[...]` names others."""

    def make(*, enrolled=None, **overrides):
        now = timezone.now()
        fields = {
            "author": teacher,
            "title": "Physics",
            "duration_minutes": 30,
            "start_time": now - timedelta(minutes=5),
            "end_time": now + timedelta(days=1),
            "is_published": True,
            "allowed_attempts": 1,
            # These tests are about the exam rules; the proctoring steps have tests of their own.
            "proctoring_enabled": False,
            "questions": QUESTIONS,
        }
        exam = exam_create(**(fields | overrides))
        enrol(exam, *(enrolled if enrolled is not None else (student, other_student)))
        return exam

    return make


@pytest.fixture
def exam(make_exam):
    return make_exam()


def qid(exam, type_: str) -> str:
    return str(exam.questions.get(type=type_).pk)
