"""Demo data for a first look at Procto: one user per role, a course with three of the students
in it (a fourth is not, to show the difference), and an open exam of every type in that course.

Seeding is idempotent: existing demo users and the demo exam are left as they are (a changed
password stays changed), so `make run` can seed on every start.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from accounts.models import User
from accounts.services import user_create
from exams.models import Course, Exam, Question
from exams.services import course_enrol, exam_create
from exams.settings_fields import exam_settings_from_api

DEMO_EXAM_TITLE = "Procto demo exam"
# By their API names, as a client would send them; the settings not named keep their defaults.
DEMO_EXAM_SETTINGS = {"allowedAttempts": 3, "securityLevel": Exam.SecurityLevel.MEDIUM}


@dataclass(frozen=True)
class DemoUser:
    email: str
    password: str
    role: str
    first_name: str
    last_name: str


DEMO_USERS = (
    DemoUser("admin@procto.local", "admin-demo-2026", User.Role.ADMIN, "Ada", "Admin"),
    DemoUser("teacher@procto.local", "teacher-demo-2026", User.Role.TEACHER, "Tom", "Teacher"),
    DemoUser("proctor@procto.local", "proctor-demo-2026", User.Role.PROCTOR, "Pia", "Proctor"),
    DemoUser("student1@procto.local", "student1-demo-2026", User.Role.STUDENT, "Sam", "One"),
    DemoUser("student2@procto.local", "student2-demo-2026", User.Role.STUDENT, "Sue", "Two"),
    DemoUser("student3@procto.local", "student3-demo-2026", User.Role.STUDENT, "Sid", "Three"),
    # Not enrolled in the demo course: logged in as this student, the demo exam does not exist.
    DemoUser("outsider@procto.local", "outsider-demo-2026", User.Role.STUDENT, "Otto", "Outsider"),
)
NOT_ENROLLED = "outsider@procto.local"
DEMO_COURSE = {"title": "Procto demo course", "code": "DEMO-101", "term": "Demo term"}


@dataclass
class SeedReport:
    created_users: list[str] = field(default_factory=list)
    exam: Exam | None = None
    exam_created: bool = False
    course: Course | None = None


def triangle_png() -> ContentFile:
    image = Image.new("RGB", (240, 200), "white")
    ImageDraw.Draw(image).polygon([(120, 20), (220, 180), (20, 180)], outline="navy", width=6)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name="triangle.png")


def _demo_questions() -> list[dict]:
    return [
        {
            "type": Question.Type.MCQ,
            "text": "Which planet is closest to the Sun?",
            "options": ["Venus", "Mercury", "Mars", "Earth"],
            "correct_answer": "Mercury",
            "points": 1,
            "explanation": "Mercury orbits at about 0.39 AU.",
        },
        {
            "type": Question.Type.MCQ_MULTIPLE,
            "text": "Which of these numbers are prime?",
            "options": ["2", "4", "7", "9", "11"],
            "correct_answer": ["2", "7", "11"],
            "points": 2,
        },
        {
            "type": Question.Type.PARAGRAPH,
            "text": "In a few sentences, explain why the sky looks blue.",
            "points": 3,
        },
        {
            "type": Question.Type.IMAGE,
            "text": "How many sides does the shape in the picture have? Explain how you counted.",
            "image": triangle_png(),
            "points": 1,
        },
        {
            "type": Question.Type.CODE,
            "text": "Write a function `is_even(n)` that returns True when n is even.",
            "language": "python",
            "points": 2,
        },
        {
            "type": Question.Type.NUMERIC,
            "text": "What is the speed of light in km/s? (within 1,000 km/s)",
            "correct_answer": {"value": 299792, "tolerance": 1000},
            "points": 1,
        },
        {
            "type": Question.Type.MATCHING,
            "text": "Match each planet to its largest moon.",
            "options": ["Earth", "Jupiter", "Saturn"],
            "correct_answer": ["Moon", "Ganymede", "Titan"],
            "points": 3,
        },
    ]


@transaction.atomic
def demo_data_seed() -> SeedReport:
    report = SeedReport()
    users, accounts = {}, {}
    for demo in DEMO_USERS:
        user = User.objects.filter(email__iexact=demo.email).first()
        if user is None:
            user = user_create(
                email=demo.email,
                password=demo.password,
                role=demo.role,
                first_name=demo.first_name,
                last_name=demo.last_name,
                institution="Procto Demo University",
            )
            report.created_users.append(demo.email)
        users.setdefault(demo.role, user)
        accounts[demo.email] = user

    teacher = users[User.Role.TEACHER]
    course = Course.objects.filter(code=DEMO_COURSE["code"], teachers=teacher).first()
    if course is None:
        course = Course.objects.create(**DEMO_COURSE)
        course.teachers.add(teacher)
    course.proctors.add(users[User.Role.PROCTOR])
    students = [u for email, u in accounts.items() if u.role == User.Role.STUDENT and email != NOT_ENROLLED]
    course_enrol(course=course, students=students)
    report.course = course
    now = timezone.now()
    exam = Exam.objects.filter(title=DEMO_EXAM_TITLE, created_by=teacher).first()
    if exam is None:
        exam = exam_create(
            author=teacher,
            course=course,
            title=DEMO_EXAM_TITLE,
            description="A short exam with one question of every type, to try Procto out.",
            duration_minutes=30,
            start_time=now - timedelta(hours=1),
            end_time=now + timedelta(days=30),
            is_published=True,
            questions=_demo_questions(),
            **exam_settings_from_api(DEMO_EXAM_SETTINGS),
        )
        report.exam_created = True
    elif not exam.is_open:
        # A demo checkout reopened months later should still have an exam to take.
        exam.end_time = now + timedelta(days=30)
        exam.start_time = min(exam.start_time, now - timedelta(hours=1))
        exam.save(update_fields=["start_time", "end_time", "updated_at"])
    if exam.course_id != course.pk:  # seeded before courses existed
        exam.course = course
        exam.save(update_fields=["course", "updated_at"])
    # The demo proctor watches the demo exam: their live monitor shows its students.
    exam.proctors.add(users[User.Role.PROCTOR])
    report.exam = exam
    return report
