from datetime import timedelta

import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from exams.tests.factories import ExamFactory, enrol
from sessions.models import ExamSession


class ExamSessionFactory(factory.django.DjangoModelFactory):
    """A session row made directly (not through the start service), for permission fixtures."""

    class Meta:
        model = ExamSession
        skip_postgeneration_save = True

    student = factory.SubFactory(UserFactory)
    exam = factory.SubFactory(ExamFactory)
    attempt = factory.Sequence(lambda n: n + 1)
    started_at = factory.LazyFunction(timezone.now)
    deadline = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
    question_order = factory.LazyAttribute(lambda s: list(s.exam.questions.values_list("id", flat=True)))

    @factory.post_generation
    def enrolled(self, create, extracted, **kwargs):
        # A student who sat an exam is in its course (as every session made the real way is).
        if create:
            enrol(self.exam, self.student)
