"""Assignment and Grade Services: a graded session's score goes to the LMS gradebook column of
every LTI link to its exam that granted Procto the score scope (LtiResourceLink.lineitem_url),
for the student's LMS user (LtiUser.sub) on that platform.

Grading sends `exam_session_graded` after commit; the receiver here enqueues
`sessions.tasks.lti_score_post`, which retries with backoff while the platform is unreachable or
answers 5xx/429. Grading itself never waits for, nor fails with, the LMS.
"""

from __future__ import annotations

import logging

from django.dispatch import receiver
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiServiceException
from pylti1p3.grade import Grade

from procto.celery import app as celery_app
from sessions.lti.services import AGS_SCORE_SCOPE
from sessions.lti.tool_config import service_connector
from sessions.models import ExamSession, LtiResourceLink, LtiUser
from sessions.signals import exam_session_graded

logger = logging.getLogger(__name__)

# Named rather than imported: sessions.tasks imports this module.
SCORE_TASK = "sessions.tasks.lti_score_post"


def _links_of(exam_id: int):
    return (
        LtiResourceLink.objects.filter(exam_id=exam_id, platform__is_active=True)
        .exclude(lineitem_url="")
        .select_related("platform")
    )


@receiver(exam_session_graded, dispatch_uid="sessions.lti.grades.score_post_enqueue")
def score_post_enqueue(sender, session_id, **kwargs) -> None:
    """Enqueue the score post for a session of an exam some LMS link grades."""
    if _links_of(ExamSession.objects.filter(pk=session_id).values("exam_id")[:1]).exists():
        celery_app.signature(SCORE_TASK, args=(str(session_id),)).delay()


def _is_permanent(error: LtiServiceException) -> bool:
    status = error.response.status_code
    return 400 <= status < 500 and status not in (401, 408, 429)


def lti_score_post(*, session_id: str) -> int:
    """Post the session's final score (scoreGiven/scoreMaximum, Completed, FullyGraded, the
    grading time, userId = the student's LMS sub) to each LMS gradebook column of its exam.
    Returns how many posts the platforms accepted. A refusal that will not change on retry (a
    4xx such as "not a member of this course") is logged and skipped; network errors, 5xx and
    429 are raised, for the task to retry (posting the same score twice is harmless)."""
    session = ExamSession.objects.select_related("exam").get(pk=session_id)
    if session.grading != ExamSession.Grading.COMPLETE or session.final_score is None:
        return 0
    posted = 0
    for link in _links_of(session.exam_id):
        lti_user = LtiUser.objects.filter(platform=link.platform, user_id=session.student_id).first()
        if lti_user is None:  # the student never came from this LMS
            continue
        grade = (
            Grade()
            .set_score_given(float(session.final_score))
            .set_score_maximum(float(session.max_score))
            .set_activity_progress("Completed")
            .set_grading_progress("FullyGraded")
            .set_timestamp((session.graded_at or session.updated_at).isoformat(timespec="milliseconds"))
            .set_user_id(lti_user.sub)
        )
        ags = AssignmentsGradesService(
            service_connector(link.platform), {"scope": [AGS_SCORE_SCOPE], "lineitem": link.lineitem_url}
        )
        try:
            ags.put_grade(grade)
        except LtiServiceException as error:
            if not _is_permanent(error):
                raise
            logger.warning("LTI score of session %s refused by %s: %s", session.pk, link.platform, error)
            continue
        posted += 1
        logger.info("LTI score of session %s posted to %s (link %s)", session.pk, link.platform, link.pk)
    return posted
