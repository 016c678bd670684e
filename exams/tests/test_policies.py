import pytest

from exams.errors import IdentityNotVerified
from exams.policies import exam_identity_check
from exams.tests.factories import ExamFactory

pytestmark = pytest.mark.django_db


def test_an_unverified_student_cannot_sit_a_high_security_exam(student):
    with pytest.raises(IdentityNotVerified, match="verified identity"):
        exam_identity_check(exam=ExamFactory(security_level="high"), student=student)


def test_a_verified_student_can_sit_a_high_security_exam(student):
    student.is_verified = True
    exam_identity_check(exam=ExamFactory(security_level="high"), student=student)


@pytest.mark.parametrize("level", ["low", "medium"])
def test_lower_security_exams_do_not_need_verification(student, level):
    exam_identity_check(exam=ExamFactory(security_level=level), student=student)
