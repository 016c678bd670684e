"""A class that has sat an exam and waits for grading, made the real way (start, answer, submit).

Tess's "Optics quiz" in her course "Optics 101": Q1 single choice (key "Mercury", 2 points), Q2
paragraph (3), Q3 image (2, a picture to describe), Q4 code (python, 3). Three students sat it:

- Ann Abbot: Mercury, a paragraph, an image answer, code;
- Ben Brown: Venus (wrong), a paragraph, an image answer, Q4 left blank;
- Stu Stone: Mercury, a paragraph, Q3 left blank, code.

So Q2 waits for three grades, Q3 and Q4 for two each; Ben's code and Stu's image need none.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from accounts.models import User
from exams.models import Exam, Question
from sessions.models import ExamSession

CODE = "def is_even(n):\n    return n % 2 == 0"
ANSWERS = {
    "ann": {"MCQ": "Mercury", "Paragraph": "Rayleigh scattering", "Image": "A red square", "Code": CODE},
    "ben": {"MCQ": "Venus", "Paragraph": "The sea reflects on it", "Image": "Red", "Code": None},
    "stu": {
        "MCQ": "Mercury",
        "Paragraph": "Short wavelengths scatter more",
        "Image": "",
        "Code": "n & 1 == 0",
    },
}


@dataclass
class GradingWorld:
    tess: User
    exam: Exam
    questions: dict[str, Question]  # by type: "MCQ", "Paragraph", "Image", "Code"
    sessions: dict[str, ExamSession]  # "ann", "ben", "stu"


def png(width: int = 240, height: int = 160) -> bytes:
    """A red square on white: the picture of Q3."""
    buffer = io.BytesIO()
    picture = Image.new("RGB", (width, height), (255, 255, 255))
    ImageDraw.Draw(picture).rectangle(
        (width // 3, height // 4, 2 * width // 3, 3 * height // 4), fill=(200, 30, 30)
    )
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def grading_world_build(*, tess: User | None = None, stu: User | None = None) -> GradingWorld:
    from accounts.tests.factories import UserFactory
    from conftest import make_stu, make_tess
    from exams.services import exam_create
    from exams.tests.factories import enrol
    from sessions import services

    tess, stu = tess or make_tess(), stu or make_stu()
    ann = UserFactory(email="ann@school.example", first_name="Ann", last_name="Abbot", role="student")
    ben = UserFactory(email="ben@school.example", first_name="Ben", last_name="Brown", role="student")
    now = timezone.now()
    exam = exam_create(
        author=tess,
        title="Optics quiz",
        duration_minutes=30,
        start_time=now - timedelta(minutes=5),
        end_time=now + timedelta(days=1),
        is_published=True,
        allowed_attempts=1,
        proctoring_enabled=False,
        questions=[
            {
                "type": "MCQ",
                "text": "Closest planet to the Sun?",
                "options": ["Venus", "Mercury", "Mars"],
                "correct_answer": "Mercury",
                "points": 2,
            },
            {"type": "Paragraph", "text": "Why is the sky blue?", "points": 3},
            {
                "type": "Image",
                "text": "Describe the picture.",
                "image": SimpleUploadedFile("square.png", png(), content_type="image/png"),
                "points": 2,
            },
            {"type": "Code", "text": "Write is_even(n).", "language": "python", "points": 3},
        ],
    )
    questions = {q.type: q for q in exam.questions.all()}
    sessions = {}
    for name, student in (("ann", ann), ("ben", ben), ("stu", stu)):
        enrol(exam, student)
        session, _ = services.exam_session_start(exam=exam, student=student)
        answers = [
            {"question_id": str(questions[kind].pk), "student_answer": answer}
            for kind, answer in ANSWERS[name].items()
        ]
        services.exam_session_submit(session_id=session.pk, student=student, answers=answers, sequence=1)
        session.refresh_from_db()
        sessions[name] = session
    return GradingWorld(tess=tess, exam=exam, questions=questions, sessions=sessions)
