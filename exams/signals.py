from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from exams.models import Exam, Question
from exams.selectors import payload_cache_key


# No `sender`: one receiver for both models (an exam's settings and its questions).
@receiver([post_save, post_delete])
def forget_exam_payload(sender, instance, **kwargs) -> None:
    if isinstance(instance, Exam):
        cache.delete(payload_cache_key(instance.pk))
    elif isinstance(instance, Question):
        cache.delete(payload_cache_key(instance.exam_id))
