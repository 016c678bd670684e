import requests
from celery import shared_task
from pylti1p3.exception import LtiServiceException

from sessions import results, services
from sessions.lti import grades, roster


@shared_task(name="sessions.tasks.exam_sessions_expire_overdue")
def exam_sessions_expire_overdue() -> int:
    return services.exam_sessions_expire_overdue()


# An LMS that is down or busy is retried, a minute apart and more (backoff, jittered).
@shared_task(
    name="sessions.tasks.lti_roster_sync",
    ignore_result=True,
    autoretry_for=(requests.RequestException, LtiServiceException),
    retry_backoff=60,
    max_retries=4,
)
def lti_roster_sync(context_id: int) -> int:
    return roster.lti_roster_sync(context_id=context_id).enrolled


# No Celery retries: each score is a row that says how its delivery went, and the sweep below tries
# it again later (sessions.lti.grades), in embedded mode too, where eager retries came at once.
@shared_task(name="sessions.tasks.lti_score_post", ignore_result=True)
def lti_score_post(session_id: str) -> int:
    return grades.lti_score_post(session_id=session_id)


@shared_task(name="sessions.tasks.lti_scores_post_due", ignore_result=True)
def lti_scores_post_due() -> int:
    return grades.lti_scores_post_due()


@shared_task(name="sessions.tasks.results_release_due")
def results_release_due() -> int:
    return results.results_release_due()


# A mail server that is down or refuses for a while is retried (smtplib's errors are OSErrors).
@shared_task(
    name="sessions.tasks.exam_results_notify",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=60,
    max_retries=5,
)
def exam_results_notify(exam_id: int) -> int:
    return results.exam_results_notify(exam_id=exam_id)


@shared_task(
    name="sessions.tasks.session_results_notify",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=60,
    max_retries=5,
)
def session_results_notify(session_id: str) -> bool:
    return results.session_results_notify(session_id=session_id)
