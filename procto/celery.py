"""The Celery app. Its configuration is the CELERY_* block of procto.settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procto.settings")

app = Celery("procto")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django fixup makes DjangoTask the task class, so services enqueue with
# `task.delay_on_commit(...)`: a task never runs before the rows it reads are committed.
app.autodiscover_tasks()
