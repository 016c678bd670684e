"""The rules the admin, the API and the pages share about courses and exams: who may change or
delete them, and which student a teacher adds by e-mail."""

from __future__ import annotations

import pytest

from accounts.tests.factories import UserFactory
from exams.selectors import (
    exam_has_attempts,
    student_for_enrolment,
    user_may_delete_course,
    user_may_delete_exam,
    user_may_edit_course,
)
from exams.tests.factories import CourseFactory
from procto.errors import ConflictError, NotFoundError

pytestmark = pytest.mark.django_db


def test_a_student_is_found_by_email_without_case_and_only_once_per_course(world):
    physics = world.physics.course
    assert student_for_enrolment(course_id=physics.pk, email=" SID@School.Example ") == world.sid
    assert student_for_enrolment(course_id=None, email="student@school.example") == world.stu
    with pytest.raises(ConflictError, match="This student is in the course already"):
        student_for_enrolment(course_id=physics.pk, email="student@school.example")


def test_staff_and_unknown_addresses_are_no_student_to_enrol(world):
    for email in ("teacher@school.example", "proctor@school.example", "nobody@school.example"):
        with pytest.raises(NotFoundError, match="No student account has this e-mail address"):
            student_for_enrolment(course_id=world.physics.course_id, email=email)


def test_a_course_is_changed_by_its_teachers_and_admins_only(world):
    physics = world.physics.course
    assert user_may_edit_course(world.tess, physics)
    assert user_may_edit_course(world.ada, physics)
    for outsider in (world.vic, world.pat, world.stu, world.sid):
        assert not user_may_edit_course(outsider, physics)


def test_only_admins_delete_and_only_what_holds_no_students_work(world):
    empty = CourseFactory(teachers=[world.tess])
    assert user_may_delete_course(world.ada, empty) and user_may_delete_course(world.ada)
    assert not user_may_delete_course(world.ada, world.physics.course)  # it has exams
    assert not user_may_delete_course(world.tess, empty)
    assert exam_has_attempts(world.physics)
    assert not user_may_delete_exam(world.ada, world.physics)  # Stu and Sam are sitting it
    assert user_may_delete_exam(world.ada)
    assert not user_may_delete_exam(world.tess)
    assert not user_may_delete_exam(UserFactory(role="teacher"))
