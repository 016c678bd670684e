from celery import shared_task

from sessions.services import exam_sessions_expire_overdue


@shared_task(name="sessions.tasks.exam_sessions_expire_overdue")
def expire_overdue_sessions() -> int:
    return exam_sessions_expire_overdue()
