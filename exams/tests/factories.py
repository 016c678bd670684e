from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import UserFactory
from exams.models import Exam


class ExamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Exam

    title = factory.Sequence(lambda n: f"Exam {n}")
    duration_minutes = 60
    start_time = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    end_time = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    created_by = factory.SubFactory(UserFactory, role=User.Role.TEACHER, is_staff=True)
