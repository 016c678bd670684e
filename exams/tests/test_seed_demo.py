from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.http import HttpRequest
from django.test import override_settings

from accounts.models import User
from exams.demo import DEMO_EXAM_TITLE, DEMO_USERS
from exams.models import Course, Enrolment, Exam, Question

pytestmark = pytest.mark.django_db

# client.login(request=...): the login throttle (django-axes) needs the request of an attempt.


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def seed() -> str:
    out = StringIO()
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seeding_twice_leaves_exactly_one_copy_of_the_demo_data():
    first = seed()
    second = seed()
    assert "7 user(s) created, exam created" in first
    assert "0 user(s) created, exam already present" in second
    assert User.objects.count() == len(DEMO_USERS) == 7
    assert Course.objects.count() == 1
    assert Enrolment.objects.count() == 3
    assert Exam.objects.filter(title=DEMO_EXAM_TITLE).count() == 1
    assert Question.objects.count() == 7


def test_demo_has_one_user_per_role_and_four_students_three_of_them_in_the_course():
    seed()
    roles = sorted(User.objects.values_list("role", flat=True))
    assert roles == ["admin", "proctor", "student", "student", "student", "student", "teacher"]
    exam = Exam.objects.get(title=DEMO_EXAM_TITLE)
    enrolled = set(exam.course.students.values_list("email", flat=True))
    assert enrolled == {"student1@procto.local", "student2@procto.local", "student3@procto.local"}
    assert set(exam.course.teachers.values_list("email", flat=True)) == {"teacher@procto.local"}


def test_the_demo_exam_exists_for_the_enrolled_students_only(client):
    seed()
    exam = Exam.objects.get(title=DEMO_EXAM_TITLE)
    client.login(request=HttpRequest(), email="student1@procto.local", password="student1-demo-2026")
    assert DEMO_EXAM_TITLE in client.get("/").content.decode()
    assert client.get(f"/api/exams/{exam.pk}").status_code == 200
    client.logout()
    client.login(request=HttpRequest(), email="outsider@procto.local", password="outsider-demo-2026")
    assert DEMO_EXAM_TITLE not in client.get("/").content.decode()
    assert client.get(f"/api/exams/{exam.pk}").status_code == 404


def test_demo_exam_is_open_and_has_every_question_type():
    seed()
    exam = Exam.objects.get(title=DEMO_EXAM_TITLE)
    assert exam.is_open
    # Every type a student answers; a bank draw (Question.Type.DRAW) is not one.
    assert {q.type for q in exam.questions.all()} == {value for value, _ in Question.QUESTION_TYPES}
    image_question = exam.questions.get(type=Question.Type.IMAGE)
    assert image_question.image.read(8).startswith(b"\x89PNG")
    for q in exam.questions.all():
        q.full_clean()


def test_every_printed_demo_login_works(client):
    output = seed()
    for demo in DEMO_USERS:
        assert f"{demo.email}" in output and demo.password in output
        assert client.login(request=HttpRequest(), email=demo.email, password=demo.password), demo.email
        client.logout()


def test_a_changed_demo_password_survives_reseeding(client):
    seed()
    student = User.objects.get(email="student1@procto.local")
    student.set_password("my-own-new-password")
    student.save()
    seed()
    assert client.login(request=HttpRequest(), email="student1@procto.local", password="my-own-new-password")


def test_seeding_refuses_a_production_site_unless_told_otherwise():
    with override_settings(DEBUG=False), pytest.raises(CommandError, match="public passwords"):
        call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", "--allow-production", stdout=StringIO())
    assert User.objects.count() == 7


def test_the_demo_proctor_watches_the_demo_exam_on_the_live_monitor(client):
    seed()
    seed()  # assigned once, whatever the reseeding
    exam = Exam.objects.get(title=DEMO_EXAM_TITLE)
    assert list(exam.proctors.values_list("email", flat=True)) == ["proctor@procto.local"]
    client.force_login(User.objects.get(email="proctor@procto.local"))
    page = client.get(f"/proctoring/monitor/?exam={exam.pk}")
    assert page.status_code == 200 and DEMO_EXAM_TITLE.encode() in page.content
