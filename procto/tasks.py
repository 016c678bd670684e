"""Project-wide periodic tasks."""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

BEAT_HEARTBEAT_KEY = "procto:beat:last-seen"


@shared_task(name="procto.tasks.beat_heartbeat")
def beat_heartbeat() -> str:
    """Record that beat scheduled and a worker ran a task; /healthz shows when that last was."""
    now = timezone.now().isoformat()
    cache.set(BEAT_HEARTBEAT_KEY, now, timeout=None)
    return now
