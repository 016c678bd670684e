"""Results students can read: releasing an exam's results (now, or at a time), what a student
reads of an attempt, and the e-mail that tells them the results are out.

Released results are the exam's `show_results` setting (the reference's `showResults`): ticked
in the admin, set through the API, or released here, where ResultsRelease records when and by
whom. A student reads an attempt's total, per-question scores and feedback only once the attempt
has ended, is fully graded and the results are released (`results_released`); before that,
nothing per question, not even through the API (sessions.serializers).

Each attempt's student is e-mailed once (ExamSession.results_notified_at, claimed by a
conditional UPDATE, so two workers never both send): when the results are released for attempts
already graded, and when grading completes for attempts graded after the release. Beat's
`results_release_due` (every minute) carries out releases whose time has come and tells
whoever was missed (a broker down at the release, `showResults` set in the admin or the API).
Embedded mode has no beat: the student's pages do that work when read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from exams.models import Exam, Question
from exams.selectors import exam_get_for_user, user_may_edit
from procto.celery import app as celery_app
from procto.errors import ApplicationError, ForbiddenError
from sessions.grading import points_text
from sessions.models import ExamSession, ResultsRelease
from sessions.outcomes import outcome_of
from sessions.selectors import exam_session_get_own
from sessions.signals import exam_session_graded

logger = logging.getLogger(__name__)

Status = ExamSession.Status
# Named rather than imported: sessions.tasks imports this module.
EXAM_NOTIFY_TASK = "sessions.tasks.exam_results_notify"
SESSION_NOTIFY_TASK = "sessions.tasks.session_results_notify"
# Attempts told per beat run at most: a backlog drains over a few minutes, not in one long task.
UNTOLD_PER_RUN = 200


class ResultsAlreadyReleased(ApplicationError):
    code = "RESULTS_ALREADY_RELEASED"
    status = 409
    message = _("The results of this exam are already released.")


# --- who reads what ----------------------------------------------------------------------------------


def results_released(session: ExamSession) -> bool:
    """May the student read this attempt's scores and feedback?"""
    return (
        session.exam.show_results
        and not session.is_in_progress
        and session.grading == ExamSession.Grading.COMPLETE
    )


@dataclass(frozen=True)
class ReleaseState:
    released: bool
    release_at: datetime | None  # when they were, or will be, released (None: not planned)

    @property
    def scheduled(self) -> bool:
        return not self.released and self.release_at is not None


def release_state(exam: Exam) -> ReleaseState:
    release = ResultsRelease.objects.filter(exam=exam).first()
    if exam.show_results:
        return ReleaseState(True, release.released_at if release and release.released_at else None)
    pending = release is not None and release.released_at is None
    return ReleaseState(False, release.release_at if pending else None)


def results_release_panel(*, user: User, exam: Exam) -> dict:
    """The exam report's panel: whether the results are out, and whether `user` may release them."""
    return {"state": release_state(exam), "can_release": user_may_edit(user, exam)}


def exam_for_results_release(*, user: User, exam_id) -> Exam:
    """The exam, for one of its teachers (teaching its course) or an admin to release its results;
    404 for those who do not see it, 403 for those who see it but do not teach it (proctors)."""
    exam = exam_get_for_user(user=user, exam_id=exam_id)
    if not user_may_edit(user, exam):
        raise ForbiddenError(_("Only the exam's teachers and administrators release its results."))
    return exam


# --- releasing ---------------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def exam_results_release(*, exam: Exam, actor: User, at: datetime | None = None) -> ResultsRelease:
    """Release the exam's results now (`at` None or past) or at `at`.

    Now: `show_results` is set and, after commit, every graded attempt's student is e-mailed
    (once). Releasing results already released changes nothing. At a time: the release waits for
    beat (results_release_due), replacing any other planned; refused (ResultsAlreadyReleased)
    once the results are out. The caller has checked that `actor` may (exam_for_results_release).
    """
    now = timezone.now()
    exam = Exam.objects.select_for_update().get(pk=exam.pk)
    release = ResultsRelease.objects.filter(exam=exam).first() or ResultsRelease(exam=exam)
    if at is not None and at > now:
        if exam.show_results:
            raise ResultsAlreadyReleased()
        release.release_at, release.released_at, release.by = at, None, actor
        release.save()
        logger.info("exam %s: results to be released at %s by user %s", exam.pk, at.isoformat(), actor.pk)
        return release
    if exam.show_results:
        return release  # already out (by an earlier release, the admin or the API): nothing to do
    return _released(exam, release, now, actor)


def _released(exam: Exam, release: ResultsRelease, now: datetime, actor: User | None) -> ResultsRelease:
    Exam.objects.filter(pk=exam.pk).update(show_results=True, updated_at=now)
    release.release_at, release.released_at = now, now
    release.by = actor if actor is not None else release.by
    release.save()
    logger.info("exam %s: results released (by %s)", exam.pk, f"user {actor.pk}" if actor else "schedule")
    # robust: a broker that is down must not undo the release; beat tells the students later.
    transaction.on_commit(
        lambda: celery_app.signature(EXAM_NOTIFY_TASK, args=(exam.pk,)).delay(), robust=True
    )
    return release


@transaction.atomic(durable=True)
def exam_results_release_cancel(*, exam: Exam, actor: User) -> bool:
    """Call off a release planned for later; False when none was planned."""
    cancelled, _ = ResultsRelease.objects.filter(exam=exam, released_at__isnull=True).delete()
    if cancelled:
        logger.info("exam %s: planned results release called off by user %s", exam.pk, actor.pk)
    return bool(cancelled)


def results_release_due(*, now: datetime | None = None) -> int:
    """Beat, every minute: release the results whose time has come, then tell the students not
    yet told (results_notify_untold). Returns how many exams were released."""
    now = now or timezone.now()
    due = ResultsRelease.objects.filter(released_at__isnull=True, release_at__lte=now)
    released = 0
    for exam_id in due.values_list("exam_id", flat=True):
        released += _release_if_due(exam_id, now)
    results_notify_untold()
    return released


@transaction.atomic(durable=True)
def _release_if_due(exam_id: int, now: datetime) -> int:
    exam = Exam.objects.select_for_update().get(pk=exam_id)
    # Locked: a teacher may have released, rescheduled or called it off since the query.
    release = ResultsRelease.objects.filter(exam=exam, released_at__isnull=True, release_at__lte=now).first()
    if release is None:
        return 0
    _released(exam, release, now, actor=None)
    return 1


def results_release_due_lazily() -> int:
    """Before a student's read, in embedded mode only, where no beat runs (as
    sessions.services.exam_sessions_expire_overdue_lazily)."""
    if settings.SERVICES_MODE:
        return 0
    return results_release_due()


# --- telling the students ----------------------------------------------------------------------------


def _untold():
    return (
        ExamSession.objects.filter(
            results_notified_at__isnull=True, grading=ExamSession.Grading.COMPLETE, exam__show_results=True
        )
        .exclude(status=Status.IN_PROGRESS)
        .order_by("ended_at")
    )


def session_results_notify(*, session_id) -> bool:
    """E-mail the student of this attempt that its results are out, if they are and they were not
    told yet; True if an e-mail went. Idempotent: whoever claims the attempt first sends."""
    now = timezone.now()
    claimed = _untold().filter(pk=session_id).update(results_notified_at=now)
    if not claimed:
        return False
    session = ExamSession.objects.select_related("exam", "student").get(pk=session_id)
    student = session.student
    if student is None or not student.is_active or not student.email:
        return False  # nobody to tell: the attempt counts as told
    try:
        with translation.override(student.language_code):  # a worker: the student's own language
            email = _results_email(session)
        send_mail(*email, recipient_list=[student.email], fail_silently=False)
    except Exception:
        # Not told after all: the task's retry, or beat's next sweep, tries again.
        ExamSession.objects.filter(pk=session_id, results_notified_at=now).update(results_notified_at=None)
        raise
    logger.info("session %s: results e-mailed to its student", session_id)
    return True


def _results_email(session: ExamSession) -> tuple[str, str, None]:
    exam, student = session.exam, session.student
    link = settings.PUBLIC_BASE_URL.rstrip("/") + reverse("session-result", args=[session.pk])
    # Titles are typed by teachers: a line break in a header would stop the e-mail.
    subject = " ".join(
        (gettext("[Procto] Your results for %(title)s are out") % {"title": exam.title}).split()
    )
    if exam.allowed_attempts > 1:
        out = gettext(
            'Your results for "%(title)s" (attempt %(attempt)s) are out: your score, and your teacher\'s '
            "feedback on each question."
        ) % {"title": exam.title, "attempt": session.attempt}
    else:
        out = gettext(
            'Your results for "%(title)s" are out: your score, and your teacher\'s feedback on each question.'
        ) % {"title": exam.title}
    body = "\n".join(
        [
            gettext("Hello %(name)s,") % {"name": student.first_name or student.display_name},
            "",
            out,
            "",
            gettext("Read them here (sign in first): %(link)s") % {"link": link},
            "",
            gettext("You get this e-mail once for each attempt."),
        ]
    )
    return subject, body, None


def exam_results_notify(*, exam_id: int) -> int:
    """Tell every student of the exam whose graded attempt was not told yet; how many e-mails went."""
    ids = list(_untold().filter(exam_id=exam_id).values_list("pk", flat=True))
    return sum(session_results_notify(session_id=pk) for pk in ids)


def results_notify_untold(*, limit: int = UNTOLD_PER_RUN) -> int:
    """Tell the students of attempts whose results are out but who were not told (beat)."""
    ids = list(_untold().values_list("pk", flat=True)[:limit])
    return sum(session_results_notify(session_id=pk) for pk in ids)


@receiver(exam_session_graded, dispatch_uid="sessions.results.notify_when_graded")
def notify_when_graded(sender, session_id, **kwargs) -> None:
    """An attempt graded after its exam's release: its student hears of it now."""
    if _untold().filter(pk=session_id).exists():
        celery_app.signature(SESSION_NOTIFY_TASK, args=(str(session_id),)).delay()


# --- what a student reads ----------------------------------------------------------------------------


def readable(value) -> str:
    """An answer or answer key of any type as text: choices listed, pairs joined with arrows."""
    if value is None or value == "":
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(readable(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{readable(k)} → {readable(v)}" for k, v in value.items())
    if isinstance(value, Decimal | float):
        return f"{value:g}"
    return str(value)


def _item(number: int, question: Question, answer) -> dict:
    response = answer.response if answer is not None else None
    chosen = response if isinstance(response, list) else [response]
    correct = (
        question.correct_answer if isinstance(question.correct_answer, list) else [question.correct_answer]
    )
    choice = question.type in Question.CHOICE_TYPES
    open_text = question.type in (Question.Type.PARAGRAPH, Question.Type.IMAGE, Question.Type.CODE)
    return {
        "number": number,
        "question": question,
        "answered": response not in (None, "", []),
        "choices": [
            {"text": o, "chosen": o in chosen, "correct": o in correct} for o in question.options or []
        ]
        if choice
        else [],
        "response_text": "" if choice else readable(response),
        # Questions scored against a key that are not choices (a number, pairs) show it as text.
        "key_text": "" if choice or open_text else readable(question.correct_answer),
        "score": points_text(answer.score if answer is not None and answer.score is not None else 0),
        "points": points_text(question.points),
        "feedback": answer.feedback if answer is not None else "",
    }


def session_result_for_student(*, user: User, session_id) -> dict:
    """The student's own attempt as its result page shows it: the total and each question's
    answer, score, feedback and explanation once released; before that, only whether and when
    they will be (404 for anyone else's attempt)."""
    session = exam_session_get_own(user=user, session_id=session_id)
    released = results_released(session)
    data = {
        "session": session,
        "outcome": outcome_of(session),
        "released": released,
        "release": release_state(session.exam),
        "items": [],
        "total": points_text(session.final_score) if released else "",
        "max_score": points_text(session.max_score),
    }
    if released:
        answers = {a.question_id: a for a in session.answers.all()}
        questions = Question.objects.in_bulk([int(pk) for pk in session.question_order])
        data["items"] = [
            _item(number, questions[int(pk)], answers.get(int(pk)))
            for number, pk in enumerate((pk for pk in session.question_order if int(pk) in questions), 1)
        ]
    return data
