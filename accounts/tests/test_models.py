import pytest
from django.contrib.auth import authenticate
from django.db import IntegrityError

from accounts.models import User
from accounts.services import user_create

pytestmark = pytest.mark.django_db


def test_users_log_in_with_their_email_whatever_its_case(rf):
    user_create(email="Alice.Smith@School.Example", password="pw-alice-12345")
    # The login throttle (django-axes) needs the request an attempt came with.
    assert authenticate(rf.post("/"), email="alice.smith@school.example", password="pw-alice-12345")
    assert authenticate(rf.post("/"), email="ALICE.SMITH@SCHOOL.EXAMPLE", password="pw-alice-12345")
    assert authenticate(rf.post("/"), email="alice.smith@school.example", password="wrong") is None


def test_the_same_email_in_another_case_cannot_register_twice():
    User.objects.create(email="bob@school.example")
    with pytest.raises(IntegrityError):
        User.objects.create(email="BOB@school.example")


def test_new_users_are_unverified_students_with_token_version_zero():
    user = user_create(email="carol@school.example", password="pw-carol-12345")
    assert user.role == User.Role.STUDENT
    assert not user.is_verified
    assert user.token_version == 0
    assert not user.is_staff


@pytest.mark.parametrize(
    ("role", "staff", "superuser"),
    [
        (User.Role.STUDENT, False, False),
        (User.Role.PROCTOR, False, False),
        (User.Role.TEACHER, True, False),
        (User.Role.ADMIN, True, True),
    ],
)
def test_teachers_and_admins_reach_the_authoring_admin(role, staff, superuser):
    user = user_create(email=f"{role}@school.example", password="pw-role-12345", role=role)
    assert (user.is_staff, user.is_superuser) == (staff, superuser)


def test_createsuperuser_makes_an_admin():
    user = User.objects.create_superuser("root@school.example", "pw-root-12345")
    assert user.role == User.Role.ADMIN
    assert user.is_superuser and user.is_staff
