"""Writes to exam sessions: start, autosave, submit, expire, grade. Every status change goes
through `exam_session_transition`, which locks the row and only moves forward."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext

from accounts.audit import audit_record
from accounts.models import AuditEntry, User
from exams.models import Accommodation, Exam, Question
from exams.policies import exam_identity_check
from exams.selectors import exam_available_to
from procto.errors import ForbiddenError, NotFoundError
from sessions import grading
from sessions.admissions import admission_use
from sessions.answers import validate_response
from sessions.errors import (
    DeadlinePassed,
    ExamNotOpen,
    IllegalTransition,
    InvalidAnswer,
    NoAttemptsLeft,
    SessionClosed,
)
from sessions.models import Answer, ExamSession
from sessions.outcomes import status_labels
from sessions.readiness import needs_room_scan, not_ready, readiness_check
from sessions.realtime import broadcast_session, student_notify
from sessions.room_scan import pre_exam_room_scan_attach
from sessions.signals import exam_session_graded

logger = logging.getLogger(__name__)

GRACE = timedelta(seconds=60)
Status = ExamSession.Status
LEGAL_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.IN_PROGRESS: frozenset(
        {Status.SUBMITTED, Status.EXPIRED, Status.CHEATING_DETECTED, Status.LOGGED_OUT}
    ),
}


def is_transition_legal(current: str, target: str) -> bool:
    return target in LEGAL_TRANSITIONS.get(current, frozenset())


def session_deadline(*, exam: Exam, started_at: datetime, accommodation: Accommodation | None) -> datetime:
    minutes = Decimal(exam.duration_minutes)
    if accommodation is not None:
        minutes = minutes * accommodation.time_multiplier + accommodation.extra_minutes
    return min(started_at + timedelta(minutes=float(minutes)), exam.end_time)


# --- start ------------------------------------------------------------------------------------------


def exam_session_start(
    *,
    exam: Exam,
    student: User,
    ip: str | None = None,
    user_agent: str = "",
    browser_info: dict | None = None,
    screen_resolution: str = "",
    rng: random.Random | None = None,
) -> tuple[ExamSession, bool]:
    """Open a new attempt, or return the one already in progress: (session, created).

    The attempt's questions are fixed here, in `question_order`: the exam's own, and for each of
    its bank draws the questions drawn for this student (`drawn_questions`), so a reload or a
    reconnect shows the same ones. `rng` draws and shuffles (tests pass a seeded one).

    Refuses (ExamNotOpen, NoAttemptsLeft, IdentityNotVerified, NotReady, AdmissionRequired)
    outside the window, past the allowed attempts, for an unverified student on a high-security
    exam, before the steps before the exam are done (sessions.readiness), or before a proctor
    admitted the student on an exam that needs it. The room scan recorded before starting moves
    to the new attempt (sessions.room_scan), so the clock starts after it. Two concurrent calls
    produce one session: the partial unique index rejects the second insert, which then returns
    the first.
    """
    exam_sessions_expire_overdue(student=student, exam=exam)
    existing = _in_progress(exam=exam, student=student)
    if existing is not None:
        return existing, False
    now = timezone.now()
    if not (exam.start_time <= now < exam.end_time) or not exam_available_to(exam=exam, student=student):
        raise ExamNotOpen()
    exam_identity_check(exam=exam, student=student)
    readiness_check(exam=exam, student=student)
    attempts = ExamSession.objects.filter(exam=exam, student=student).count()
    if attempts >= exam.allowed_attempts:
        # A concurrent start may have just opened the last attempt: that one is ours to resume.
        existing = _in_progress(exam=exam, student=student)
        if existing is not None:
            return existing, False
        raise NoAttemptsLeft()
    accommodation = Accommodation.objects.filter(exam=exam, student=student).first()
    rng = rng or random.SystemRandom()
    questions, drawn = exam_questions_draw(exam=exam, rng=rng)
    order = [qid for qid, _ in questions]
    if exam.shuffle_questions:
        rng.shuffle(order)
    try:
        with transaction.atomic():
            session = ExamSession.objects.create(
                exam=exam,
                student=student,
                attempt=attempts + 1,
                started_at=now,
                deadline=session_deadline(exam=exam, started_at=now, accommodation=accommodation),
                question_order=order,
                drawn_questions=drawn,
                max_score=sum((Decimal(points) for _, points in questions), Decimal(0)),
                media_exempt=bool(accommodation and accommodation.media_exempt),
                ip=ip,
                user_agent=user_agent[:400],
                browser_info=browser_info or {},
                screen_resolution=screen_resolution[:32],
            )
            # Exams a proctor admits: no admission to spend rolls this attempt back.
            admission_use(session=session)
            # The room scan was recorded before this moment, so none of the time went on it.
            attached = pre_exam_room_scan_attach(session=session)
            if not attached and exam.proctoring_enabled and needs_room_scan(exam=exam, student=student):
                raise not_ready(exam=exam, missing=["room-scan"])
    except IntegrityError:
        # Lost a race with a concurrent start of the same student: theirs is the session.
        existing = _in_progress(exam=exam, student=student)
        if existing is None:
            raise
        return existing, False
    logger.info("session %s started: %s attempt %s", session.pk, student.pk, session.attempt)
    broadcast_session(session)  # a new card on the proctors' live monitors
    return session, True


def exam_questions_draw(*, exam: Exam, rng: random.Random) -> tuple[list[tuple[int, Decimal]], dict]:
    """One attempt's questions in the author's order, as (id, points): each fixed question, and in
    the place of each bank draw entry `draw_count` questions drawn at random from its matching
    ones (never one twice in an attempt, even from two draws of one bank). Also the draws as
    {draw entry id: [drawn ids]}. A bank left with fewer matching questions than a draw asks for
    since the exam was saved gives what it has (logged): the attempt still starts."""
    questions: list[tuple[int, Decimal]] = []
    drawn: dict[str, list[int]] = {}
    taken: set[int] = set()
    for entry in exam.questions.select_related("draw_from").order_by("order", "id"):
        if not entry.is_draw:
            questions.append((entry.pk, entry.points))
            continue
        candidates = [(qid, points) for qid, points in entry.draw_candidates().values_list("id", "points")]
        candidates = [c for c in candidates if c[0] not in taken]
        if len(candidates) < entry.draw_count:
            logger.warning(
                "exam %s draw %s: %s matching questions left for a draw of %s",
                exam.pk,
                entry.pk,
                len(candidates),
                entry.draw_count,
            )
        chosen = rng.sample(candidates, min(entry.draw_count, len(candidates)))
        drawn[str(entry.pk)] = [qid for qid, _ in chosen]
        taken.update(drawn[str(entry.pk)])
        questions += chosen
    return questions, drawn


def _in_progress(*, exam: Exam, student: User) -> ExamSession | None:
    return ExamSession.objects.filter(exam=exam, student=student, status=Status.IN_PROGRESS).first()


# --- transitions -------------------------------------------------------------------------------------


def exam_session_transition(
    *, session_id, to: str, reason: str = "", ended_at: datetime | None = None
) -> tuple[ExamSession, bool]:
    """Move an in-progress session to a final status: (session, changed).

    Locks the row. Asking for the status it already has is a no-op (idempotent submit); any
    other move from a final status raises IllegalTransition. Choice questions are scored here.
    """
    with transaction.atomic():
        session = ExamSession.objects.select_for_update(no_key=True).get(pk=session_id)
        if session.status == to:
            return session, False
        if not is_transition_legal(session.status, to):
            raise IllegalTransition(
                f"The session has already ended ({status_labels()[session.status].lower()}).",
                details={"status": session.status},
            )
        session.status = to
        session.ended_at = ended_at or timezone.now()
        session.end_reason = reason[:300]
        session.save(update_fields=["status", "ended_at", "end_reason", "updated_at"])
        exam_session_grade(session=session)
        if to == Status.CHEATING_DETECTED:
            student_notify(session.pk, {"type": "terminated", "reason": session.end_reason})
        else:
            student_notify(session.pk, {"type": "ended", "status": to})
        broadcast_session(session)  # its card leaves the live monitors
    logger.info("session %s -> %s (%s)", session.pk, to, reason or "no reason")
    return session, True


# --- answers -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SaveResult:
    saved: list[str]  # question ids whose answer this save wrote
    stale: list[str]  # question ids where a newer save had already arrived
    deadline: datetime | None = None


def _check_answer_window(session: ExamSession, now: datetime) -> None:
    if session.status != Status.IN_PROGRESS:
        raise SessionClosed(details={"status": session.status})
    if now > session.deadline + GRACE:
        raise DeadlinePassed(details={"deadline": session.deadline.isoformat()})


def _parse_answers(session: ExamSession, answers: list[dict]) -> list[tuple[Question, dict]]:
    # Only the questions this save names: a save carries one to three answers, an exam many.
    named = set()
    for item in answers:
        try:
            named.add(int(item["question_id"]))
        except (KeyError, TypeError, ValueError):
            continue
    wanted = named & set(session.question_order)
    questions = {q.pk: q for q in Question.objects.filter(pk__in=wanted)}
    parsed = []
    for item in answers:
        try:
            question = questions[int(item["question_id"])]
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidAnswer(
                "An answer names a question that is not in this exam.",
                details={"questionId": str(item.get("question_id"))},
            ) from exc
        validate_response(question, item.get("student_answer"))
        parsed.append((question, item))
    return parsed


def _write_answer(session: ExamSession, question: Question, item: dict, seq: int | None, now) -> bool:
    """Write one answer unless a save with a higher sequence number got there first.

    Without a number (`seq` None: a client of the reference document) the save is ordered by its
    arrival. The caller holds the session's row lock, so this is the newest save to arrive: it
    always writes, and keeps the stored number so that the next numbered save of a client that
    sends them is not mistaken for an old one.
    """
    fields = {
        "response": item.get("student_answer"),
        "time_spent_seconds": max(0, int(item.get("time_spent") or 0)),
        "updated_at": now,
    }
    if seq is None:
        if not Answer.objects.filter(session=session, question=question).update(**fields):
            Answer.objects.create(session=session, question=question, **fields)
        return True
    fields["client_seq"] = seq
    if Answer.objects.filter(session=session, question=question, client_seq__lt=seq).update(**fields):
        return True
    if Answer.objects.filter(session=session, question=question).exists():
        return False
    try:
        with transaction.atomic():
            Answer.objects.create(session=session, question=question, **fields)
        return True
    except IntegrityError:  # a concurrent save created it first: let the sequence decide
        if not Answer.objects.filter(session=session, question=question).exists():
            raise  # not that race: a refusal of this answer itself must not read as "stale"
        return bool(
            Answer.objects.filter(session=session, question=question, client_seq__lt=seq).update(**fields)
        )


def exam_session_answers_save(
    *, session_id, student: User, answers: list[dict], sequence: int | None = None
) -> SaveResult:
    """Autosave: write each answer whose sequence number is newer than the stored one.

    `answers` are {"question_id", "student_answer", "time_spent", optional "sequence"}. A save
    is accepted while the session is in progress and until 60 s after its deadline. Replaying a
    save changes nothing (idempotent). An answer without any number (neither its own nor the
    save's) is written in arrival order under the session's row lock (docs/PROTOCOL.md).
    Raises SessionClosed, DeadlinePassed, InvalidAnswer.
    """
    now = timezone.now()
    with transaction.atomic():
        session = ExamSession.objects.select_for_update(no_key=True).filter(pk=session_id).first()
        if session is None or session.student_id != student.pk:
            raise NotFoundError(gettext("No such exam session."))
        _check_answer_window(session, now)
        saved, stale = [], []
        for question, item in _parse_answers(session, answers):
            seq = item["sequence"] if item.get("sequence") is not None else sequence
            wrote = _write_answer(session, question, item, seq, now)
            (saved if wrote else stale).append(str(question.pk))
    return SaveResult(saved=saved, stale=stale, deadline=session.deadline)


def exam_session_submit(
    *, session_id, student: User, answers: list[dict] | None = None, sequence: int | None = None
) -> tuple[ExamSession, bool]:
    """Submit (saving any last answers first). Idempotent: a finished session is returned as is."""
    session = ExamSession.objects.filter(pk=session_id, student=student).first()
    if session is None:
        raise NotFoundError()
    if session.status != Status.IN_PROGRESS:
        return session, False
    if timezone.now() > session.deadline + GRACE:
        # Too late to submit by hand: it ends as expired at its deadline, with what was saved in
        # time; answers sent with this late submit are not taken.
        return exam_session_transition(
            session_id=session_id, to=Status.EXPIRED, reason="deadline passed", ended_at=session.deadline
        )
    if answers:
        exam_session_answers_save(session_id=session_id, student=student, answers=answers, sequence=sequence)
    return exam_session_transition(session_id=session_id, to=Status.SUBMITTED, reason="submitted")


def exam_sessions_expire_overdue(
    *, now: datetime | None = None, student: User | None = None, exam: Exam | None = None
) -> int:
    """Auto-submit in-progress sessions whose deadline and grace have passed.

    Each ends as expired at its deadline, with the answers last saved. Runs from beat every
    30 s, before a student's new start, and (embedded mode only) before reads.
    """
    now = now or timezone.now()
    overdue = ExamSession.objects.filter(status=Status.IN_PROGRESS, deadline__lt=now - GRACE)
    if student is not None:
        overdue = overdue.filter(student=student)
    if exam is not None:
        overdue = overdue.filter(exam=exam)
    expired = 0
    for session_id, deadline in overdue.values_list("id", "deadline"):
        try:
            _, changed = exam_session_transition(
                session_id=session_id, to=Status.EXPIRED, reason="time ran out", ended_at=deadline
            )
        except IllegalTransition:
            continue  # finished by someone else between the query and the lock
        expired += changed
    return expired


def exam_sessions_expire_overdue_lazily(*, student: User | None = None, exam: Exam | None = None) -> int:
    """Before a read, in embedded mode only: there no beat runs, so reads do its work. With
    services, beat expires sessions every 30 s and a GET stays a read (no locks, no writes)."""
    if settings.SERVICES_MODE:
        return 0
    return exam_sessions_expire_overdue(student=student, exam=exam)


def exam_session_terminate(*, session_id, actor: User, reason: str) -> ExamSession:
    """A proctor ends a session early, for the reason they give (not a finding of cheating: see
    sessions.outcomes)."""
    session, _ = exam_session_transition(session_id=session_id, to=Status.CHEATING_DETECTED, reason=reason)
    logger.warning("session %s terminated by %s: %s", session_id, actor.pk, reason)
    return session


# --- grading -----------------------------------------------------------------------------------------


def exam_session_grade(*, session: ExamSession) -> ExamSession:
    """Score choice answers, then settle the grading status and final score.

    Grading is complete when every answered open question has a score; the final score is then
    the sum of the answer scores (unanswered questions score zero), and `exam_session_graded` is
    sent after commit.
    """
    answers = list(session.answers.select_related("question"))
    pending = False
    for answer in answers:
        if grading.is_auto_graded(answer.question):
            score = grading.auto_score(answer.question, answer.response)
            if answer.score != score:
                answer.score = score
                answer.save(update_fields=["score", "updated_at"])
        elif grading.needs_manual_grading(answer.question, answer.response) and answer.score is None:
            pending = True
    total = session.answers.aggregate(total=Sum("score"))["total"] or Decimal(0)
    session.grading = ExamSession.Grading.PENDING if pending else ExamSession.Grading.COMPLETE
    session.final_score = None if pending else total
    session.save(update_fields=["grading", "final_score", "updated_at"])
    if not pending:
        # After commit, robust: what listens (the LMS gradebook) never blocks nor fails grading.
        def send_graded(session_id=session.pk) -> None:
            exam_session_graded.send(sender=ExamSession, session_id=session_id)

        transaction.on_commit(send_graded, robust=True)
    return session


def answer_grade(*, answer: Answer, grader: User, score: Decimal, feedback: str = "") -> Answer:
    """A teacher scores an open answer; the session's final score follows when all are scored."""
    if grading.is_auto_graded(answer.question):
        raise ForbiddenError(gettext("Choice questions are scored automatically."))
    if not (Decimal(0) <= Decimal(score) <= Decimal(answer.question.points)):
        raise InvalidAnswer(f"The score must be between 0 and {answer.question.points}.")
    with transaction.atomic():
        answer.score = Decimal(score)
        answer.feedback = feedback
        answer.graded_by = grader
        answer.graded_at = timezone.now()
        answer.save(update_fields=["score", "feedback", "graded_by", "graded_at", "updated_at"])
        session = ExamSession.objects.select_for_update(no_key=True).get(pk=answer.session_id)
        if session.status != Status.IN_PROGRESS:
            exam_session_grade(session=session)
            if session.grading == ExamSession.Grading.COMPLETE:
                session.graded_by, session.graded_at = grader, timezone.now()
                session.save(update_fields=["graded_by", "graded_at"])
    return answer


@dataclass(frozen=True)
class AnswerGrade:
    answer: Answer
    score: Decimal
    feedback: str = ""


@transaction.atomic(durable=True)
def exam_session_answers_grade(*, session: ExamSession, grader: User, grades: list[AnswerGrade]) -> int:
    """Score several open answers of one session at once, all or none (a student's grading
    page): an invalid score (InvalidAnswer) leaves every answer as it was. Returns how many."""
    for grade in grades:
        if grade.answer.session_id != session.pk:
            raise NotFoundError(gettext("This answer is not in this session."))
        answer_grade(answer=grade.answer, grader=grader, score=grade.score, feedback=grade.feedback)
    return len(grades)


@dataclass(frozen=True)
class Regrade:
    sessions: int  # finished sessions with an answer to the question, all scored again
    changed: list[dict]  # {"session", "student", "from", "to"}: each score the new key moved


@transaction.atomic(durable=True)
def question_answer_key_change(*, question: Question, correct_answer, actor: User) -> Regrade:
    """Make `correct_answer` the key of a choice question and regrade every session of its exam.

    The caller checked that `actor` grades the exam. Only which choices are right changes, never
    the choices students saw, so this is allowed after students have sat the exam (unlike other
    changes to its questions). Every session of the exam is locked first, those in progress too:
    a submit cannot score with the old key in between, and those still running are scored with
    the new one when they end. Each finished session whose score for the question moves gets its
    final score again (and the LMS gradebook, after commit: exam_session_graded). One audit
    entry says who changed which key from what to what, and lists every score that moved.
    Raises ValidationError for a key that is not among the choices.
    """
    # No key update: every answer insert takes PostgreSQL's key-share lock on its question (the
    # foreign key), which FOR UPDATE blocks; an autosave holding its session would then wait for
    # this, and this for its session (the sessions are locked below): a deadlock.
    question = Question.objects.select_for_update(no_key=True).get(pk=question.pk)
    if not grading.is_auto_graded(question):
        raise ForbiddenError(gettext("Only choice questions have an answer key."))
    previous = question.correct_answer
    question.correct_answer = correct_answer
    question.clean()
    question.save(update_fields=["correct_answer"])
    # In primary-key order, as any other writer that locks several sessions must. A bank question's
    # key is the bank's: every session it was drawn in (those that answered it) is regraded.
    sessions = ExamSession.objects.select_for_update(no_key=True)
    if question.exam_id is not None:
        sessions = sessions.filter(exam_id=question.exam_id)
    else:
        sessions = sessions.filter(pk__in=Answer.objects.filter(question=question).values("session_id"))
    finished = {s.pk: s for s in sessions.order_by("pk") if s.status != Status.IN_PROGRESS}
    answers = list(Answer.objects.filter(question=question, session_id__in=finished).order_by("session_id"))
    changed = []
    for answer in answers:
        score = grading.auto_score(question, answer.response)
        if answer.score != score:
            session = finished[answer.session_id]
            changed.append(
                {
                    "session": str(session.pk),
                    "student": session.student_id,
                    "from": str(answer.score),
                    "to": str(score),
                }
            )
            exam_session_grade(session=session)
    regrade = Regrade(sessions=len(answers), changed=changed)
    audit_record(
        action=AuditEntry.Action.ANSWER_KEY_CHANGE,
        actor=actor,
        details={
            "exam": question.exam_id,
            **({"bank": question.bank_id} if question.bank_id else {}),
            "question": question.pk,
            "from": previous,
            "to": question.correct_answer,
            "sessions_regraded": regrade.sessions,
            "scores_changed": changed,
        },
    )
    logger.info(
        "question %s: answer key changed by %s, %s of %s sessions rescored",
        question.pk,
        actor.pk,
        len(changed),
        regrade.sessions,
    )
    return regrade
