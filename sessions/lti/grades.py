"""Assignment and Grade Services: a graded session's score goes to the LMS gradebook column of
every LTI link to its exam that granted Procto the score scope (LtiResourceLink.lineitem_url),
for the student's LMS user (LtiUser.sub) on that platform.

Each (session, link) has one LtiScoreDelivery, the durable record of the score to deliver and of
how its delivery went: waiting, delivered, refused by the LMS (with its reason), or given up.

- Grading sends `exam_session_graded` after commit; the receiver here records the score
  (lti_scores_record: a regrade's new score replaces a waiting one, and is delivered again if the
  old one was already delivered) and enqueues `sessions.tasks.lti_score_post`, which tries each
  waiting score of the session once (lti_score_post). Grading never waits for, nor fails with,
  the LMS: a broker or an LMS that is down leaves the score waiting.
- An LMS that cannot be reached, or answers 5xx, 429, 408 or 401, is tried again later: 1 minute
  after the first attempt, doubling up to an hour, ATTEMPTS_MAX attempts in all (about a day),
  then the score is given up. The retries are the sweep's (lti_scores_post_due): beat runs it
  every minute with services; embedded mode has no beat, so the teachers' pages run it when read
  (lti_scores_post_due_lazily), as they expire overdue sessions and release results.
- A refusal that will not change on retry (another 4xx: "not a member of this course", an
  unknown line item) is kept with its reason and not retried by itself.
- The exam's teachers and the admins see the deliveries on the exam report (lti_scores_panel)
  and in the admin, and send refused and given-up scores again (lti_scores_retry).
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.dispatch import receiver
from django.utils import timezone
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException, LtiServiceException
from pylti1p3.grade import Grade

from accounts.models import User
from exams.models import Exam
from exams.selectors import exam_get_for_user, user_may_edit
from procto.celery import app as celery_app
from procto.errors import ForbiddenError
from sessions.lti.services import AGS_SCORE_SCOPE
from sessions.lti.tool_config import service_connector
from sessions.models import ExamSession, LtiResourceLink, LtiScoreDelivery, LtiUser
from sessions.signals import exam_session_graded

logger = logging.getLogger(__name__)

State = LtiScoreDelivery.State
# Named rather than imported: sessions.tasks imports this module.
SCORE_TASK = "sessions.tasks.lti_score_post"
FIRST_RETRY_SECONDS = 60
MAX_RETRY_SECONDS = 3600
# 1, 2, 4 … 32 minutes, then hourly: the 30th attempt comes about a day after the first.
ATTEMPTS_MAX = 30
# A score the sweep handed to a task is due again after this, should the task never run (a lost
# broker message, a killed worker): the task itself settles it long before.
CLAIM_SECONDS = 300
# Sessions sent per sweep at most (beat; the lazy one takes fewer: it runs inside a page).
DUE_PER_RUN = 200
DUE_PER_LAZY_RUN = 20
ERROR_CHARS = 500


def _links_of(exam_id):
    return (
        LtiResourceLink.objects.filter(exam_id=exam_id, platform__is_active=True)
        .exclude(lineitem_url="")
        .select_related("platform")
    )


# --- recording ---------------------------------------------------------------------------------------


@receiver(exam_session_graded, dispatch_uid="sessions.lti.grades.score_post_enqueue")
def score_post_enqueue(sender, session_id, **kwargs) -> None:
    """Record the session's score for each LMS link that grades its exam, then enqueue its post.
    Should the enqueue fail (broker down), the scores wait for the sweep."""
    if lti_scores_record(session_id=session_id):
        celery_app.signature(SCORE_TASK, args=(str(session_id),)).delay()


@transaction.atomic
def lti_scores_record(*, session_id) -> int:
    """Write the graded session's final score into its deliveries, one per LMS link of its exam
    whose platform knows the student (a student who never came from that LMS has no gradebook
    entry there). A new score (a regrade) replaces the one waiting or delivered and waits to be
    sent, due now; the same score already waiting or delivered is left as it is. Returns how
    many deliveries wait."""
    session = ExamSession.objects.get(pk=session_id)
    if session.grading != ExamSession.Grading.COMPLETE or session.final_score is None:
        return 0
    now = timezone.now()
    graded_at = session.graded_at or session.updated_at
    waiting = 0
    for link in _links_of(session.exam_id):
        if not LtiUser.objects.filter(platform_id=link.platform_id, user_id=session.student_id).exists():
            continue
        delivery, created = LtiScoreDelivery.objects.select_for_update().get_or_create(
            session=session,
            link=link,
            defaults={
                "score_given": session.final_score,
                "score_maximum": session.max_score,
                "scored_at": graded_at,
                "next_attempt_at": now,
            },
        )
        if created:
            waiting += 1
            continue
        same = (delivery.score_given, delivery.score_maximum) == (session.final_score, session.max_score)
        if same and delivery.state in (State.WAITING, State.DELIVERED):
            waiting += delivery.state == State.WAITING
            continue
        # The LMS keeps the score with the latest timestamp: a regrade (of an answer key, which
        # leaves graded_at) must carry a later one than the score it replaces.
        delivery.scored_at = graded_at if graded_at > delivery.scored_at else now
        delivery.score_given, delivery.score_maximum = session.final_score, session.max_score
        delivery.state, delivery.attempts, delivery.next_attempt_at = State.WAITING, 0, now
        delivery.last_error, delivery.delivered_at = "", None
        delivery.revision += 1
        delivery.save()
        waiting += 1
    return waiting


# --- delivering --------------------------------------------------------------------------------------


def lti_score_post(*, session_id) -> int:
    """Post each waiting score of the session once (scoreGiven/scoreMaximum, Completed,
    FullyGraded, the score's timestamp, userId = the student's LMS sub) and record the outcome:
    delivered, refused (a 4xx that will not change on retry, with its reason), or waiting for a
    later attempt (unreachable, 5xx, 429, 408, 401) until ATTEMPTS_MAX, then given up. Never
    raises for the LMS's sake. Returns how many scores were delivered."""
    deliveries = LtiScoreDelivery.objects.filter(session_id=session_id, state=State.WAITING).select_related(
        "link__platform", "session"
    )
    return sum(_deliver(delivery) for delivery in deliveries)


def _deliver(delivery: LtiScoreDelivery) -> bool:
    link, session = delivery.link, delivery.session
    if not link.platform.is_active:
        return _refused(delivery, "The LMS is switched off in Procto (LTI platforms, admin).")
    if not link.lineitem_url:
        return _refused(delivery, "The LMS link no longer gives Procto a gradebook column.")
    lti_user = LtiUser.objects.filter(platform_id=link.platform_id, user_id=session.student_id).first()
    if lti_user is None:
        return _refused(delivery, "The student has no account on this LMS any more.")
    grade = (
        Grade()
        .set_score_given(float(delivery.score_given))
        .set_score_maximum(float(delivery.score_maximum))
        .set_activity_progress("Completed")
        .set_grading_progress("FullyGraded")
        .set_timestamp(delivery.scored_at.isoformat(timespec="milliseconds"))
        .set_user_id(lti_user.sub)
    )
    try:
        ags = AssignmentsGradesService(
            service_connector(link.platform), {"scope": [AGS_SCORE_SCOPE], "lineitem": link.lineitem_url}
        )
        ags.put_grade(grade)
    except LtiServiceException as error:
        reason = _reason(error.response)
        if _is_permanent(error):
            return _refused(delivery, reason)
        return _retry_later(delivery, reason)
    except requests.RequestException as error:
        return _retry_later(delivery, f"The LMS could not be reached ({type(error).__name__}).")
    except LtiException as error:  # pylti1p3's own refusal to send (no score scope, no line item)
        return _refused(delivery, str(error))
    except Exception as error:  # Procto's own failure (a key it cannot read…): counted, so it ends
        logger.exception("LTI score of session %s could not be sent", session.pk)
        return _retry_later(delivery, f"Procto could not send it ({type(error).__name__}).")
    settled = _settle(delivery, state=State.DELIVERED, delivered_at=timezone.now(), next_attempt_at=None)
    if settled:
        logger.info("LTI score of session %s delivered to %s (link %s)", session.pk, link.platform, link.pk)
    return settled


def _is_permanent(error: LtiServiceException) -> bool:
    status = error.response.status_code
    return 400 <= status < 500 and status not in (401, 408, 429)


def _reason(response: requests.Response) -> str:
    """What the LMS answered, as a teacher can read it: the status and the start of its body."""
    text = " ".join(response.text.split())
    reason = f"HTTP {response.status_code} {response.reason or ''}".strip()
    return f"{reason}: {text}"[:ERROR_CHARS] if text else reason


def _settle(delivery: LtiScoreDelivery, **fields) -> bool:
    # Only the revision that was sent, and only while waiting: a regrade or a retry since then
    # is a newer score to send, and a delivery that already succeeded stays delivered.
    sent = LtiScoreDelivery.objects.filter(pk=delivery.pk, revision=delivery.revision, state=State.WAITING)
    return bool(sent.update(attempts=F("attempts") + 1, updated_at=timezone.now(), **fields))


def _refused(delivery: LtiScoreDelivery, reason: str) -> bool:
    if _settle(delivery, state=State.REFUSED, last_error=reason, next_attempt_at=None):
        logger.warning("LTI score of session %s refused by the LMS: %s", delivery.session_id, reason)
    return False


def _retry_later(delivery: LtiScoreDelivery, reason: str) -> bool:
    attempts = delivery.attempts + 1
    if attempts >= ATTEMPTS_MAX:
        if _settle(delivery, state=State.GIVEN_UP, last_error=reason, next_attempt_at=None):
            logger.error(
                "LTI score of session %s given up, %s attempts: %s", delivery.session_id, attempts, reason
            )
        return False
    delay = min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS)
    # Jittered, so an exam's scores that failed together do not all come back at the same second.
    delay *= random.uniform(1.0, 1.1)  # noqa: S311 - spreading, not secrecy
    _settle(delivery, last_error=reason, next_attempt_at=timezone.now() + timedelta(seconds=delay))
    logger.info("LTI score of session %s to be sent again in %d s: %s", delivery.session_id, delay, reason)
    return False


# --- the sweep ---------------------------------------------------------------------------------------


def lti_scores_post_due(
    *, now: datetime | None = None, limit: int = DUE_PER_RUN, stop_at_failure: bool = False
) -> int:
    """Beat, every minute: hand each session with a score due (its next attempt's time has come)
    to the score task, claiming it first (its next attempt moved CLAIM_SECONDS on, by a
    conditional update: two sweeps never both send it). `stop_at_failure` (tasks run in process):
    stop at the first session whose score is still waiting after its task, so a page does not
    wait for an LMS that is down once per student. Returns how many sessions were sent."""
    now = now or timezone.now()
    due = (
        LtiScoreDelivery.objects.filter(state=State.WAITING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", "session_id", "next_attempt_at")[:limit]
    )
    sent: set = set()
    for pk, session_id, at in due:
        if session_id in sent:
            continue  # its task sent all its waiting scores
        claimed = LtiScoreDelivery.objects.filter(pk=pk, state=State.WAITING, next_attempt_at=at).update(
            next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS)
        )
        if not claimed:
            continue  # another sweep's
        sent.add(session_id)
        try:
            celery_app.signature(SCORE_TASK, args=(str(session_id),)).delay()
        except Exception:  # one session's failure (a broker down) must not keep the others waiting
            logger.exception("LTI score of session %s: could not hand it to the score task", session_id)
        if (
            stop_at_failure
            and LtiScoreDelivery.objects.filter(session_id=session_id, state=State.WAITING).exists()
        ):
            break
    return len(sent)


def lti_scores_post_due_lazily() -> int:
    """Before a teacher's read, in embedded mode only, where no beat runs (as
    sessions.services.exam_sessions_expire_overdue_lazily): a few sessions at a time, and none
    more once the LMS failed one (the page waits for each post)."""
    if settings.SERVICES_MODE:
        return 0
    return lti_scores_post_due(limit=DUE_PER_LAZY_RUN, stop_at_failure=True)


# --- what teachers see and do ------------------------------------------------------------------------


def lti_scores_panel(*, user: User, exam: Exam) -> dict | None:
    """The exam report's LMS gradebook panel, for the exam's teachers and admins: how many scores
    are delivered, waiting, refused, given up, and one row per score not delivered (or all of
    them), with the LMS's reason. None for others, and for an exam no LMS link grades."""
    if not user_may_edit(user, exam):
        return None
    deliveries = list(
        LtiScoreDelivery.objects.filter(session__exam=exam)
        .select_related("session__student", "link__platform")
        .order_by("session__student__last_name", "session__student__first_name", "session__attempt", "pk")
    )
    if not deliveries and not _links_of(exam.pk).exists():
        return None
    counts = Counter(delivery.state for delivery in deliveries)
    return {
        "counts": {state.name.lower(): counts[state] for state in State},
        "deliveries": deliveries,
        "retryable": counts[State.REFUSED] + counts[State.GIVEN_UP],
    }


def exam_for_lti_scores(*, user: User, exam_id) -> Exam:
    """The exam, for one of its teachers or an admin to send its scores again; 404 for those who
    do not see it, 403 for those who see it but do not teach it (proctors)."""
    exam = exam_get_for_user(user=user, exam_id=exam_id)
    if not user_may_edit(user, exam):
        raise ForbiddenError("Only the exam's teachers and administrators send its scores to the LMS.")
    return exam


def lti_scores_retry(*, actor: User, exam: Exam | None = None, delivery_ids: list[int] | None = None) -> int:
    """Send refused and given-up scores again (of `exam`, or those of `delivery_ids`): each waits,
    due now, with a fresh series of attempts, and is posted at once. The caller checked that
    `actor` may (exam_for_lti_scores; the admin's are administrators). Returns how many."""
    with transaction.atomic(durable=True):
        again = LtiScoreDelivery.objects.filter(state__in=[State.REFUSED, State.GIVEN_UP])
        if exam is not None:
            again = again.filter(session__exam=exam)
        if delivery_ids is not None:
            again = again.filter(pk__in=delivery_ids)
        rows = list(again.select_for_update(of=("self",)).values_list("pk", "session_id"))
        count = LtiScoreDelivery.objects.filter(pk__in=[pk for pk, _ in rows]).update(
            state=State.WAITING,
            attempts=0,
            next_attempt_at=timezone.now(),
            revision=F("revision") + 1,
            updated_at=timezone.now(),
        )
    logger.info("%s LMS score(s) to be sent again, asked by user %s", count, actor.pk)
    for session_id in sorted({str(session_id) for _, session_id in rows}):
        try:
            celery_app.signature(SCORE_TASK, args=(session_id,)).delay()
        except Exception:  # they wait, due now: the sweep sends them
            logger.exception("LTI score of session %s: could not hand it to the score task", session_id)
    return count
