from celery import shared_task

from sessions import services


@shared_task(name="sessions.tasks.exam_sessions_expire_overdue")
def exam_sessions_expire_overdue() -> int:
    return services.exam_sessions_expire_overdue()
