from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from accounts.models import User
from exams.demo import DEMO_EXAM_TITLE, DEMO_USERS
from exams.models import Exam, Question

pytestmark = pytest.mark.django_db


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
    assert "6 user(s) created, exam created" in first
    assert "0 user(s) created, exam already present" in second
    assert User.objects.count() == len(DEMO_USERS) == 6
    assert Exam.objects.filter(title=DEMO_EXAM_TITLE).count() == 1
    assert Question.objects.count() == 5


def test_demo_has_one_user_per_role_and_three_students():
    seed()
    roles = sorted(User.objects.values_list("role", flat=True))
    assert roles == ["admin", "proctor", "student", "student", "student", "teacher"]


def test_demo_exam_is_open_and_has_every_question_type():
    seed()
    exam = Exam.objects.get(title=DEMO_EXAM_TITLE)
    assert exam.is_open
    assert {q.type for q in exam.questions.all()} == set(Question.Type.values)
    image_question = exam.questions.get(type=Question.Type.IMAGE)
    assert image_question.image.read(8).startswith(b"\x89PNG")
    for q in exam.questions.all():
        q.full_clean()


def test_every_printed_demo_login_works(client):
    output = seed()
    for demo in DEMO_USERS:
        assert f"{demo.email}" in output and demo.password in output
        assert client.login(email=demo.email, password=demo.password), demo.email
        client.logout()


def test_a_changed_demo_password_survives_reseeding(client):
    seed()
    student = User.objects.get(email="student1@procto.local")
    student.set_password("my-own-new-password")
    student.save()
    seed()
    assert client.login(email="student1@procto.local", password="my-own-new-password")


def test_seeding_refuses_a_production_site_unless_told_otherwise():
    with override_settings(DEBUG=False), pytest.raises(CommandError, match="public passwords"):
        call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", "--allow-production", stdout=StringIO())
    assert User.objects.count() == 6


def test_the_demo_proctor_watches_the_demo_exam_on_the_live_monitor(client):
    seed()
    seed()  # assigned once, whatever the reseeding
    exam = Exam.objects.get(title=DEMO_EXAM_TITLE)
    assert list(exam.proctors.values_list("email", flat=True)) == ["proctor@procto.local"]
    client.force_login(User.objects.get(email="proctor@procto.local"))
    page = client.get(f"/proctoring/monitor/?exam={exam.pk}")
    assert page.status_code == 200 and DEMO_EXAM_TITLE.encode() in page.content
