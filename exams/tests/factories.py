from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import UserFactory
from exams.models import Course, Enrolment, Exam


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Course {n}")
    code = factory.Sequence(lambda n: f"C-{n:03d}")

    @factory.post_generation
    def teachers(self, create, extracted, **kwargs):
        if create and extracted:
            self.teachers.add(*extracted)

    @factory.post_generation
    def students(self, create, extracted, **kwargs):
        """CourseFactory(students=[stu, sam]) enrols them."""
        for student in extracted or ():
            Enrolment.objects.get_or_create(course=self, student=student)


class ExamFactory(factory.django.DjangoModelFactory):
    """An exam in a course its author teaches (a new one unless `course` is given)."""

    class Meta:
        model = Exam
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Exam {n}")
    duration_minutes = 60
    start_time = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    end_time = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    created_by = factory.SubFactory(UserFactory, role=User.Role.TEACHER, is_staff=True)
    course = factory.SubFactory(
        CourseFactory, title=factory.LazyAttribute(lambda c: f"{c.factory_parent.title} course")
    )

    @factory.post_generation
    def author_teaches_the_course(self, create, extracted, **kwargs):
        if create:
            self.course.teachers.add(self.created_by)


def enrol(exam: Exam, *students: User) -> None:
    """Put students in the exam's course, as a teacher would before they take it."""
    for student in students:
        Enrolment.objects.get_or_create(course=exam.course, student=student)


def enrol_in_own_course(teacher: User, *students: User) -> None:
    """Put students in the teacher's own course, where exams made without a course land."""
    from exams.services import course_default_for

    course = course_default_for(teacher=teacher)
    for student in students:
        Enrolment.objects.get_or_create(course=course, student=student)
