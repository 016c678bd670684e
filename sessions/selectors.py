"""Reads of exam sessions, scoped to who is asking."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from accounts.permissions import Can, user_can
from exams.models import Enrolment, Exam, Question
from exams.selectors import (
    banks_visible_to,
    courses_visible_to,
    database_id,
    exam_get_for_user,
    exams_available_to,
    exams_visible_to,
    user_may_edit,
)
from procto.errors import ForbiddenError, NotFoundError
from sessions import grading
from sessions.models import Admission, Answer, ExamConsent, ExamSession, IdentityCheck, SystemCheck
from sessions.outcomes import outcomes_attach

# Teachers oversee their own exams, proctors those assigned to them (exams.selectors.exams_visible_to).
# Enrolments that show staff a student's identity images before the student sets out on an exam:
# those the student made (join code) or the school's LMS or records vouched for. A teacher who
# typed someone's address in (admin, CSV, API) sees nothing until that student acts on one of the
# course's exams: otherwise any teacher could enrol anyone to look at their ID card.
VOUCHED = (Enrolment.Source.JOIN_CODE, Enrolment.Source.LTI, Enrolment.Source.MIGRATION)
STAFF_WHO_OVERSEE = (User.Role.TEACHER, User.Role.PROCTOR)


def sessions_watchable_by(user: User) -> QuerySet[ExamSession]:
    """Sessions of the exams a staff member oversees: admins all, teachers their own exams,
    proctors the exams assigned to them."""
    sessions = ExamSession.objects.select_related("student", "exam")
    if user_can(user, Can.SEE_ALL_EXAMS):
        return sessions
    if user.role in STAFF_WHO_OVERSEE:
        return sessions.filter(exam__in=exams_visible_to(user).values("pk"))
    return sessions.none()


def student_overseen_by(*, staff: User, student: User) -> bool:
    """Has `student` prepared for or sat an exam that `staff` oversees (admins: any student)?

    An enrolment the student or the school vouched for (VOUCHED) in a course they teach or
    proctor counts, and so do consent, a system or identity check, an admission request or a
    session on an exam they oversee.
    """
    if user_can(staff, Can.SEE_ALL_EXAMS):
        return True
    if staff.role not in STAFF_WHO_OVERSEE:
        return False
    exam_ids = exams_visible_to(staff).values("pk")
    related = (
        (ExamSession, "student"),
        (Admission, "student"),
        (IdentityCheck, "user"),
        (SystemCheck, "user"),
        (ExamConsent, "user"),
    )
    courses = courses_visible_to(staff).values("pk")
    if Enrolment.objects.filter(student=student, course__in=courses, source__in=VOUCHED).exists():
        return True
    return any(
        model.objects.filter(**{field: student, "exam__in": exam_ids}).exists() for model, field in related
    )


def may_view_identity_of(*, viewer: User, owner: User) -> bool:
    """Students see their own ID images; admins everyone's; teachers and proctors those of the
    students of the exams they oversee (proctors compare the face on camera with the ID, teachers
    review verifications).
    """
    if viewer.pk == owner.pk:
        return True
    if not (user_can(viewer, Can.REVIEW_IDENTITY) or user_can(viewer, Can.MONITOR_SESSIONS)):
        return False
    return student_overseen_by(staff=viewer, student=owner)


def students_overseen_by(staff: User) -> QuerySet[User]:
    """The students `student_overseen_by` says yes to, as one query (admin lists)."""
    if user_can(staff, Can.SEE_ALL_EXAMS):
        return User.objects.all()
    if staff.role not in STAFF_WHO_OVERSEE:
        return User.objects.none()
    exam_ids = exams_visible_to(staff).values("pk")
    courses = courses_visible_to(staff).values("pk")
    return User.objects.filter(
        Q(pk__in=Enrolment.objects.filter(course__in=courses, source__in=VOUCHED).values("student"))
        | Q(pk__in=ExamSession.objects.filter(exam__in=exam_ids).values("student"))
        | Q(pk__in=Admission.objects.filter(exam__in=exam_ids).values("student"))
        | Q(pk__in=IdentityCheck.objects.filter(exam__in=exam_ids).values("user"))
        | Q(pk__in=SystemCheck.objects.filter(exam__in=exam_ids).values("user"))
        | Q(pk__in=ExamConsent.objects.filter(exam__in=exam_ids).values("user"))
    )


def exam_session_get_for_user(*, user: User, session_id) -> ExamSession:
    """The session if it is the student's own or one the staff member oversees; 404 otherwise
    (a student probing another student's session id learns nothing)."""
    try:
        session_uuid = uuid.UUID(str(session_id))
    except ValueError as exc:
        raise NotFoundError(gettext("No such exam session.")) from exc
    own = ExamSession.objects.select_related("student", "exam").filter(student=user)
    try:
        return (own | sessions_watchable_by(user)).distinct().get(pk=session_uuid)
    except ExamSession.DoesNotExist as exc:
        raise NotFoundError(gettext("No such exam session.")) from exc


def exam_session_get_own(*, user: User, session_id) -> ExamSession:
    """The student's own session; 404 for anyone else's, even a session staff may watch."""
    session = exam_session_get_for_user(user=user, session_id=session_id)
    if session.student_id != user.pk:
        raise NotFoundError(gettext("No such exam session."))
    return session


def with_event_counts(sessions: QuerySet[ExamSession]) -> QuerySet[ExamSession]:
    return sessions.annotate(
        event_count=Count("events", distinct=True),
        high_severity_count=Count(
            "events", filter=Q(events__severity__in=["high", "critical"]), distinct=True
        ),
    )


def sessions_live_for(*, user: User, exam_id=None) -> QuerySet[ExamSession]:
    sessions = sessions_watchable_by(user).filter(status=ExamSession.Status.IN_PROGRESS)
    if exam_id:
        sessions = sessions.filter(exam_id=exam_id)
    return with_event_counts(sessions).order_by("deadline")


@dataclass
class DashboardExam:
    exam: Exam
    attempts_used: int
    in_progress: ExamSession | None

    @property
    def attempts_left(self) -> int:
        return max(0, self.exam.allowed_attempts - self.attempts_used)


def student_dashboard(*, student: User) -> dict:
    """Available (open now), upcoming, and finished attempts for a student's start page."""
    now = timezone.now()
    sessions = list(
        ExamSession.objects.filter(student=student).select_related("exam").order_by("-started_at")
    )
    by_exam: dict[int, list[ExamSession]] = {}
    for session in sessions:
        by_exam.setdefault(session.exam_id, []).append(session)
    available, upcoming = [], []
    for exam in exams_available_to(student).order_by("start_time", "pk"):
        mine = by_exam.get(exam.pk, [])
        entry = DashboardExam(exam, len(mine), next((s for s in mine if s.is_in_progress), None))
        if exam.start_time > now:
            upcoming.append(entry)
        elif entry.in_progress or entry.attempts_left:
            available.append(entry)
    finished = outcomes_attach(s for s in sessions if not s.is_in_progress)
    return {"available": available, "upcoming": upcoming, "finished": finished}


def question_image_get_for_user(*, user: User, question_id: int) -> Question:
    """A question with an image, for staff who see its exam or a student sitting (or who sat)
    it: images are part of the exam and must not leak before it opens. 404 for anyone else."""
    question = Question.objects.select_related("exam").filter(pk=question_id).first()
    if question is None or not question.image:
        raise NotFoundError()
    if question.bank_id is not None:
        _bank_question_image_check(user=user, question=question)
        return question
    if user.role == User.Role.STUDENT:
        # Questions cannot change once an attempt exists, so any attempt covers this question.
        if not ExamSession.objects.filter(student=user, exam_id=question.exam_id).exists():
            raise NotFoundError()
    else:
        exam_get_for_user(user=user, exam_id=question.exam_id)  # 404 unless overseen
    return question


def _bank_question_image_check(*, user: User, question: Question) -> None:
    """A bank question's image: for a student it was drawn for, and for staff who see the bank
    or an exam that draws from it. NotFoundError for anyone else."""
    exams = Exam.objects.filter(questions__draw_from_id=question.bank_id)
    if user.role == User.Role.STUDENT:
        orders = ExamSession.objects.filter(student=user, exam__in=exams).values_list(
            "question_order", flat=True
        )
        if not any(question.pk in [int(pk) for pk in order] for order in orders):
            raise NotFoundError()
    elif not (
        banks_visible_to(user).filter(pk=question.bank_id).exists()
        or exams_visible_to(user).filter(pk__in=exams.values("pk")).exists()
    ):
        raise NotFoundError()


# --- grading ------------------------------------------------------------------------------------------


def exam_get_for_grading(*, user: User, exam_id) -> Exam:
    """The exam if `user` grades it: a teacher of its course, or an admin. 404 for anyone who does
    not oversee it (another course's teacher learns nothing), 403 for the proctors who do."""
    if not user_can(user, Can.REVIEW_SESSIONS):
        raise NotFoundError(gettext("No such exam."))
    exam = exam_get_for_user(user=user, exam_id=exam_id)
    if not user_may_edit(user, exam):
        raise ForbiddenError(gettext("Only the exam's teachers or an administrator grade it."))
    return exam


def exam_session_get_for_grading(*, user: User, session_id) -> ExamSession:
    """A session the user grades (as `exam_get_for_grading`): 404 unless they oversee its exam,
    403 for its proctors. A student asking for their own gets 404 too."""
    if not user_can(user, Can.REVIEW_SESSIONS):
        raise NotFoundError(gettext("No such exam session."))
    session = exam_session_get_for_user(user=user, session_id=session_id)
    if not user_may_edit(user, session.exam):
        raise ForbiddenError(gettext("Only the exam's teachers or an administrator grade it."))
    return session


def question_get_for_grading(*, exam: Exam, question_id) -> Question:
    """One of the exam's questions as graders meet them: its own, or one its bank draws gave a
    student (a draw entry itself is not a question). 404 otherwise."""
    try:
        pk = database_id(question_id)
    except (TypeError, ValueError) as exc:
        raise NotFoundError(gettext("No such question in this exam.")) from exc
    question = next((q for q in exam_questions_graded(exam) if q.pk == pk), None)
    if question is None:
        raise NotFoundError(gettext("No such question in this exam."))
    return question


def _drawn_by_entry(exam: Exam) -> dict[str, set[int]]:
    """{draw entry id: the bank questions it gave any student of the exam}."""
    drawn: dict[str, set[int]] = {}
    for draws in exam.sessions.values_list("drawn_questions", flat=True):
        for entry_id, ids in (draws or {}).items():
            drawn.setdefault(entry_id, set()).update(ids)
    return drawn


def exam_questions_graded(exam: Exam) -> list[Question]:
    """The questions of the exam a grader meets, in its author's order: each fixed question, and in
    a bank draw's place the bank questions it gave its students (in the bank's order)."""
    entries = list(exam.questions.order_by("order", "id"))
    drawn = _drawn_by_entry(exam) if any(e.is_draw for e in entries) else {}
    ids = set().union(*drawn.values()) if drawn else set()
    bank_questions = {q.pk: q for q in Question.objects.filter(pk__in=ids).order_by("order", "id")}
    questions, listed = [], set()
    for entry in entries:
        if entry.is_draw:
            # Once, at the first draw that gave it: two draws of one bank may each have given it
            # to a different student (as question_numbers numbers it).
            given = [
                q
                for pk, q in bank_questions.items()
                if pk in drawn.get(str(entry.pk), ()) and pk not in listed
            ]
            questions += given
            listed.update(q.pk for q in given)
        else:
            questions.append(entry)
    return questions


def _number_label(first: int, count: int) -> int | str:
    return first if count <= 1 else f"{first}-{first + count - 1}"


def question_numbers(exam: Exam) -> dict[int, int | str]:
    """Question id -> its number in the exam as its author ordered it (Q1, Q2...): the number
    the report and the grading pages use, whatever order each student saw. A bank draw of three
    takes three numbers; a question it gave any student is numbered by the draw ("Q3-5")."""
    numbers: dict[int, int | str] = {}
    slot = 1
    entries = list(exam.questions.order_by("order", "id"))
    drawn = _drawn_by_entry(exam) if any(e.is_draw for e in entries) else {}
    for entry in entries:
        if entry.is_draw:
            for pk in drawn.get(str(entry.pk), ()):
                numbers.setdefault(pk, _number_label(slot, entry.draw_count))
            slot += entry.draw_count
        else:
            numbers[entry.pk] = slot
            slot += 1
    return numbers


def session_question_numbers(session: ExamSession, entries: list[Question] | None = None) -> dict[int, int]:
    """Question id -> its number in this attempt, in its author's order (whatever order the
    student saw): a bank draw's questions take its numbers, in the order drawn. `entries`: the
    exam's questions and draw entries in order, if the caller has them."""
    if entries is None:
        entries = list(session.exam.questions.order_by("order", "id"))
    numbers: dict[int, int] = {}
    slot = 1
    for entry in entries:
        ids = session.drawn_questions.get(str(entry.pk), []) if entry.is_draw else [entry.pk]
        for pk in ids:
            numbers[pk] = slot
            slot += 1
    return numbers


def session_questions(session: ExamSession) -> list[dict]:
    """The attempt's own questions, as the review page, the PDF and the exports list them: its
    number (the author's order), the question, and the bank it was drawn from (None: the exam's
    own), in the order the student met them."""
    return sessions_questions([session])[session.pk]


def sessions_questions(sessions: list[ExamSession]) -> dict:
    """`session_questions` of many sessions (the exam report's CSV), in two queries."""
    entries: dict[int, list[Question]] = {}
    exam_ids = {s.exam_id for s in sessions}
    for entry in Question.objects.filter(exam_id__in=exam_ids).order_by("order", "id"):
        entries.setdefault(entry.exam_id, []).append(entry)
    questions = Question.objects.select_related("bank").in_bulk(
        {int(pk) for session in sessions for pk in session.question_order}
    )
    listed = {}
    for session in sessions:
        numbers = session_question_numbers(session, entries.get(session.exam_id, []))
        listed[session.pk] = [
            {"number": numbers.get(int(pk)), "question": questions[int(pk)], "bank": questions[int(pk)].bank}
            for pk in session.question_order
            if int(pk) in questions
        ]
    return listed


def _by_student(prefix: str = "") -> list:
    """Students by name, then attempt: the order of every grading list, so "next" means the same
    everywhere (`prefix` "session__" from an answer). Deleted students come last."""
    return [
        *(
            F(f"{prefix}student__{name}").asc(nulls_last=True)
            for name in ("last_name", "first_name", "email")
        ),
        f"{prefix}attempt",
        f"{prefix}started_at",
    ]


def _finished_answers(exam: Exam) -> QuerySet[Answer]:
    # Answers of a session in progress can still change: they are graded once it has ended.
    return Answer.objects.filter(session__exam=exam).exclude(session__status=ExamSession.Status.IN_PROGRESS)


@dataclass
class QuestionProgress:
    question: Question
    number: int | str  # Q3, or "3-5": a question a bank draw of three gave
    answered: int  # finished sessions with an answer to it
    ungraded: int  # of those, open answers no grader has scored

    @property
    def auto_graded(self) -> bool:
        return grading.is_auto_graded(self.question)


@dataclass
class GradingOverview:
    exam: Exam
    questions: list[QuestionProgress]
    sessions: list[ExamSession]  # finished, each with `.ungraded`, by student
    in_progress: int

    @property
    def ungraded(self) -> int:
        return sum(q.ungraded for q in self.questions)


def exam_grading_overview(*, exam: Exam) -> GradingOverview:
    """What waits for a grader in one exam, per question and per student. Four queries."""
    numbers = question_numbers(exam)
    counts = {
        row["question_id"]: row
        for row in _finished_answers(exam)
        .filter(grading.answered())
        .order_by()
        .values("question_id")
        .annotate(answered=Count("id"), ungraded=Count("id", filter=grading.awaiting_grader()))
    }
    questions = [
        QuestionProgress(
            question=question,
            number=numbers[question.pk],
            answered=counts.get(question.pk, {}).get("answered", 0),
            ungraded=counts.get(question.pk, {}).get("ungraded", 0),
        )
        for question in exam_questions_graded(exam)
    ]
    sessions = _sessions_with_ungraded(exam)
    in_progress = exam.sessions.filter(status=ExamSession.Status.IN_PROGRESS).count()
    return GradingOverview(exam=exam, questions=questions, sessions=sessions, in_progress=in_progress)


def exam_ungraded_count(*, user: User, exam: Exam) -> int | None:
    """Open answers of the exam's finished sessions that wait for a grader, for the report's link
    to grading; None if `user` does not grade the exam (its proctors see no link)."""
    if not user_may_edit(user, exam):
        return None
    return _finished_answers(exam).filter(grading.awaiting_grader()).count()


def _sessions_with_ungraded(exam: Exam) -> list[ExamSession]:
    """The exam's finished sessions by student, each with `.ungraded`: its answers that wait."""
    sessions = exam.sessions.exclude(status=ExamSession.Status.IN_PROGRESS).select_related("student")
    counted = sessions.annotate(ungraded=Count("answers", filter=grading.awaiting_grader("answers__")))
    return list(counted.order_by(*_by_student()))


@dataclass
class GradingQueue:
    """The answers to one question across all students, and where the grader stands in it."""

    question: Question
    number: int | str
    answers: list[Answer]  # finished sessions' answers, by student
    current: Answer | None  # None once every answer has a score (and none was asked for)

    def _index(self) -> int | None:
        return None if self.current is None else self.answers.index(self.current)

    @property
    def position(self) -> int | None:
        index = self._index()
        return None if index is None else index + 1

    @property
    def graded(self) -> int:
        return sum(answer.score is not None for answer in self.answers)

    @property
    def previous(self) -> Answer | None:
        index = self._index()
        return self.answers[index - 1] if index else None

    @property
    def next(self) -> Answer | None:
        index = self._index()
        return self.answers[index + 1] if index is not None and index + 1 < len(self.answers) else None

    @property
    def next_ungraded(self) -> Answer | None:
        """The first unscored answer after the current one, going round to the start."""
        index = self._index()
        start = -1 if index is None else index
        ordered = self.answers[start + 1 :] + self.answers[: start + 1]
        return next((a for a in ordered if a.score is None and a is not self.current), None)


def question_grading_queue(*, exam: Exam, question: Question, answer_id=None) -> GradingQueue:
    """The grading queue of one open question: every finished session's answer to it ("grade Q3
    for everyone"), positioned at `answer_id` if given (404 if it is not in the queue), else at
    the first answer with no score, else nowhere (all graded). Unanswered questions are not in
    it: they score zero without a grader."""
    if grading.is_auto_graded(question):
        raise NotFoundError(
            "Choice, numeric and matching questions are scored automatically; "
            "change their answer key instead."
        )
    answers = list(
        _finished_answers(exam)
        .filter(grading.answered(), question=question)
        .select_related("session__student", "graded_by")
        .order_by(*_by_student("session__"))
    )
    if answer_id is None:
        current = next((a for a in answers if a.score is None), None)
    else:
        current = next((a for a in answers if str(a.pk) == str(answer_id)), None)
        if current is None:
            raise NotFoundError(gettext("This answer is not in the question's grading queue."))
    number = question_numbers(exam)[question.pk]
    return GradingQueue(question=question, number=number, answers=answers, current=current)


@dataclass
class GradingItem:
    """One open answer on a student's grading page, numbered as that page shows it."""

    item: int  # 1, 2, ... on the page
    number: int  # the question's number in the exam (Q3)
    answer: Answer

    @property
    def name(self) -> str:
        """What the page calls it, in its labels and its errors."""
        return f"item {self.item}"


def session_grading_items(*, session: ExamSession) -> tuple[list[GradingItem], list[int]]:
    """The student's answered open questions in the exam's order, numbered for the page, and the
    exam numbers of the open questions they left blank (those score zero, nothing to grade)."""
    numbers = session_question_numbers(session)
    answers = sorted(
        (a for a in session.answers.select_related("question") if not grading.is_auto_graded(a.question)),
        key=lambda a: numbers.get(a.question_id, 0),
    )
    answered = [a for a in answers if grading.needs_manual_grading(a.question, a.response)]
    items = [GradingItem(item=i, number=numbers[a.question_id], answer=a) for i, a in enumerate(answered, 1)]
    blank = [numbers[a.question_id] for a in answers if a not in answered]
    return items, blank


def session_next_to_grade(*, session: ExamSession) -> ExamSession | None:
    """The next student (by name, going round) of the same exam with answers waiting for a grader."""
    sessions = _sessions_with_ungraded(session.exam)
    ids = [s.pk for s in sessions]
    start = ids.index(session.pk) + 1 if session.pk in ids else 0
    return next((s for s in sessions[start:] + sessions[:start] if s.ungraded and s.pk != session.pk), None)


def question_next_to_grade(*, exam: Exam, after: Question) -> QuestionProgress | None:
    """The next open question of the exam (going round) with answers waiting for a grader."""
    questions = [q for q in exam_grading_overview(exam=exam).questions if not q.auto_graded]
    ids = [q.question.pk for q in questions]
    start = ids.index(after.pk) + 1 if after.pk in ids else 0
    return next(
        (q for q in questions[start:] + questions[:start] if q.ungraded and q.question != after), None
    )


@dataclass
class ChoiceCount:
    option: str
    chosen: int  # finished sessions whose answer includes it
    right: bool  # in the answer key


def question_choice_counts(*, exam: Exam, question: Question) -> tuple[list[ChoiceCount], int]:
    """How many finished sessions chose each choice of a choice question (each pair of the key of
    a matching one; nothing for a numeric one), and how many answered it: what a teacher weighs
    before changing the key (and how many sessions that regrades)."""
    if not grading.is_auto_graded(question):
        raise NotFoundError(gettext("Only choice questions have an answer key."))
    responses = list(
        _finished_answers(exam)
        .filter(grading.answered(), question=question)
        .values_list("response", flat=True)
    )
    if question.type == Question.Type.NUMERIC:
        return [], len(responses)  # numbers typed are too many to list: the count alone
    if question.type == Question.Type.MATCHING:
        # Each pair of the key, and how many gave it.
        return [
            ChoiceCount(
                option=f"{prompt} → {match}",
                chosen=sum(isinstance(r, list) and i < len(r) and r[i] == match for r in responses),
                right=True,
            )
            for i, (prompt, match) in enumerate(zip(question.options, question.correct_answer, strict=False))
        ], len(responses)
    key = question.correct_answer if isinstance(question.correct_answer, list) else [question.correct_answer]
    counts = [
        ChoiceCount(
            option=option,
            chosen=sum(option == r or (isinstance(r, list) and option in r) for r in responses),
            right=option in key,
        )
        for option in question.options
    ]
    return counts, len(responses)
