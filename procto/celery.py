"""The Celery app. Its configuration is the CELERY_* block of procto.settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procto.settings")

app = Celery("procto")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django fixup makes DjangoTask the task class. A service that enqueues work about rows
# it writes does so once they are committed (transaction.on_commit), so no task reads a row that
# may still roll back; media from the stream socket refers to no new row and is queued at once.
app.autodiscover_tasks()
