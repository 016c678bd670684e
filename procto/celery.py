"""The Celery app. Its configuration is the CELERY_* block of procto.settings."""

import logging.config
import os

from celery import Celery
from celery.signals import setup_logging, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procto.settings")

app = Celery("procto")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django fixup makes DjangoTask the task class. A service that enqueues work about rows
# it writes does so once they are committed (transaction.on_commit), so no task reads a row that
# may still roll back; media from the stream socket refers to no new row and is queued at once.
app.autodiscover_tasks()


@setup_logging.connect
def logging_as_django(**kwargs) -> None:
    """Workers log as the web does (settings.LOGGING: JSON lines), not in Celery's own format."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@worker_process_init.connect
def channel_sends_on_one_loop(**kwargs) -> None:
    """A worker process sends to the monitors on one event loop of its own (procto.channels)."""
    from procto.channels import send_on_worker_loop

    send_on_worker_loop()


def _bind_request_ids() -> None:
    # The request_id of the request or socket that enqueued a task travels in a header and is
    # bound in the worker while the task runs (django-structlog's Celery receivers).
    from django_structlog.celery.steps import DjangoStructLogInitStep

    app.steps["worker"].add(DjangoStructLogInitStep)


_bind_request_ids()
