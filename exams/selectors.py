"""Reads of exams that depend on who is asking."""

from __future__ import annotations

from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from accounts.permissions import Can, user_can
from accounts.selectors import users_by_email
from exams.models import Course, Enrolment, Exam, Question, QuestionBank
from procto.errors import ConflictError, ForbiddenError, NotFoundError

PAYLOAD_CACHE_SECONDS = 3600


def exams_visible_to(user: User) -> QuerySet[Exam]:
    """Who meets which exam; every page, API and service asks this, and nothing else.

    Admins: all. Teachers: those of the courses they teach. Proctors: those
    assigned to them and those of the courses they proctor. Students: only exams of the courses
    they are enrolled in: the published ones that have not ended, and any they have sat.
    Everyone else, and a student outside the course, gets none (a 404 where they ask for one).
    """
    exams = Exam.objects.select_related("created_by", "course")
    if user_can(user, Can.SEE_ALL_EXAMS):
        return exams
    if user.role == User.Role.TEACHER:
        # The course decides, not authorship: a teacher taken off a course loses its exams.
        return exams.filter(course__in=Course.objects.filter(teachers=user))
    if user.role == User.Role.PROCTOR:
        mine = Q(pk__in=Exam.proctors.through.objects.filter(user=user).values("exam_id"))
        return exams.filter(mine | Q(course__in=Course.objects.filter(proctors=user)))
    if user_can(user, Can.TAKE_EXAMS):
        enrolled = Enrolment.objects.filter(student=user).values("course_id")
        sat = Exam.objects.filter(sessions__student=user).values("pk")
        return exams.filter(course__in=enrolled).filter(
            Q(is_published=True, end_time__gt=timezone.now()) | Q(pk__in=sat)
        )
    return exams.none()


def database_id(value) -> int:
    """An id from a URL or a body as the database's integer; ValueError for anything else, a
    number past 2^63 included (SQLite cannot even compare one)."""
    number = int(str(value))
    if not 0 < number < 2**63:
        raise ValueError(f"not an id: {value!r}")
    return number


def courses_visible_to(user: User) -> QuerySet[Course]:
    """Admins: all. Teachers: those they teach. Proctors: those they proctor. Students: those they
    are enrolled in."""
    courses = Course.objects.all()
    if user_can(user, Can.SEE_ALL_EXAMS):
        return courses
    if user.role == User.Role.TEACHER:
        return courses.filter(pk__in=Course.teachers.through.objects.filter(user=user).values("course_id"))
    if user.role == User.Role.PROCTOR:
        return courses.filter(pk__in=Course.proctors.through.objects.filter(user=user).values("course_id"))
    if user_can(user, Can.TAKE_EXAMS):
        return courses.filter(pk__in=Enrolment.objects.filter(student=user).values("course_id"))
    return courses.none()


def course_get_for_user(*, user: User, course_id, for_edit: bool = False) -> Course:
    """The course if `user` may see it (404 otherwise); with for_edit, only a teacher of it (or an
    admin) may add exams or students to it."""
    try:
        course = courses_visible_to(user).get(pk=database_id(course_id))
    except (Course.DoesNotExist, TypeError, ValueError) as exc:
        raise NotFoundError(gettext("No such course.")) from exc
    if for_edit and not user_may_edit_course(user, course):
        raise ForbiddenError(gettext("Only the course's teachers or an administrator can change it."))
    return course


def user_may_edit_course(user: User, course: Course) -> bool:
    """Its teachers and admins change a course: its details, teachers, proctors and students."""
    return user_can(user, Can.SEE_ALL_EXAMS) or course.teachers.filter(pk=user.pk).exists()


def user_may_delete_course(user: User, course: Course | None = None) -> bool:
    """Admins only, and only a course without exams (they hold students' work); `course` None
    asks whether the user may delete courses at all."""
    return user_can(user, Can.SEE_ALL_EXAMS) and (course is None or not course.exams.exists())


def banks_visible_to(user: User) -> QuerySet[QuestionBank]:
    """Question banks: those of the courses a teacher teaches; admins all; nobody else any (a
    bank's questions are an exam's questions before students meet them)."""
    if not user_can(user, Can.AUTHOR_EXAMS):
        return QuestionBank.objects.none()
    if user_can(user, Can.SEE_ALL_EXAMS):
        return QuestionBank.objects.select_related("course")
    taught = Course.teachers.through.objects.filter(user=user).values("course_id")
    return QuestionBank.objects.select_related("course").filter(course__in=taught)


def bank_has_draws_sat(bank: QuestionBank) -> bool:
    """Has a student started an exam that draws from the bank? Its questions are then frozen, as
    an exam's are once started: a student may have drawn any of them (answers refer to them)."""
    return Question.objects.filter(draw_from=bank, exam__sessions__isnull=False).exists()


def course_students(course: Course) -> QuerySet[User]:
    """The students enrolled in the course, by name: the only ones its teachers pick from (for an
    exam's accommodations); the platform's other students are none of their business."""
    return course.students.order_by("last_name", "first_name", "email")


def student_for_enrolment(*, course_id: int | None, email: str) -> User:
    """The student a teacher adds to a course by e-mail address (compared without case, as the
    API and the CSV roster compare: accounts.selectors.users_by_email).

    NotFoundError if no student account has the address (a staff account counts as none: only
    students enrol); ConflictError if they are in the course already (course_id None: a course
    not saved yet has nobody in it)."""
    student = users_by_email([email]).get(email.strip().lower())
    if student is None or student.role != User.Role.STUDENT:
        raise NotFoundError(gettext("No student account has this e-mail address."))
    if course_id is not None and Enrolment.objects.filter(course_id=course_id, student=student).exists():
        raise ConflictError(gettext("This student is in the course already."), code="ALREADY_ENROLLED")
    return student


def exams_available_to(student: User) -> QuerySet[Exam]:
    """The exams `student` may start or ask to be admitted to (if open by then): those visible to
    them that are published and have not ended. The dashboard lists them; the start and admission
    services refuse any other. Who sees which exam is decided by `exams_visible_to` alone."""
    return exams_visible_to(student).filter(is_published=True, end_time__gt=timezone.now())


def exam_available_to(*, exam: Exam, student: User) -> bool:
    return exams_available_to(student).filter(pk=exam.pk).exists()


def exam_get_for_user(*, user: User, exam_id, for_edit: bool = False) -> Exam:
    """The exam if `user` may see it (404 otherwise); with for_edit, only its author or an admin."""
    try:
        exam = exams_visible_to(user).get(pk=database_id(exam_id))
    except (Exam.DoesNotExist, TypeError, ValueError) as exc:
        raise NotFoundError(gettext("No such exam.")) from exc
    if for_edit and not user_may_edit(user, exam):
        raise ForbiddenError(gettext("Only the exam's author or an administrator can change it."))
    return exam


def user_may_edit(user: User, exam: Exam) -> bool:
    """A teacher of its course (its author, while they teach it), or an admin."""
    if user_can(user, Can.SEE_ALL_EXAMS) and user_can(user, Can.AUTHOR_EXAMS):
        return True
    if not user_can(user, Can.AUTHOR_EXAMS):
        return False
    if exam.pk is not None:
        # The stored exam decides, not the instance: the admin asks again about an instance its
        # form has just changed (or emptied) while showing that form's errors.
        return Exam.objects.filter(pk=exam.pk, course__teachers=user).exists()
    return exam.course_id is not None and exam.course.teachers.filter(pk=user.pk).exists()


def exam_has_attempts(exam: Exam) -> bool:
    """Has a student started the exam? From then on its questions are frozen (answers refer to
    them) and it cannot be deleted (sessions are records): exam_update and exam_delete refuse,
    and the admin does not offer either."""
    return exam.sessions.exists()


def user_may_delete_exam(user: User, exam: Exam | None = None) -> bool:
    """Roles that delete exams (admins), and only an exam no student has started; `exam` None
    asks whether the user may delete exams at all."""
    return user_can(user, Can.DELETE_EXAMS) and (exam is None or not exam_has_attempts(exam))


def user_sees_answers(user: User, exam: Exam) -> bool:
    """Correct answers and explanations: authors and admins only (never students, never proctors)."""
    return user_may_edit(user, exam)


def payload_cache_key(exam_id: int) -> str:
    return f"exam:{exam_id}:student-payload"


def exam_student_payload(exam: Exam) -> dict:
    """What any student may see of an exam's questions: no answers, no explanations.

    Cached (Redis in services mode) because every start and reload of every student reads it;
    exams.signals deletes the entry whenever the exam or a question changes.
    """
    key = payload_cache_key(exam.pk)
    payload = cache.get(key)
    if payload is None:
        payload = {
            "questions": {
                str(q.pk): question_student_data(q)
                # Draw entries are not questions: each student's drawn ones are in their attempt.
                for q in exam.questions.exclude(type=Question.Type.DRAW).order_by("order", "id")
            }
        }
        cache.set(key, payload, PAYLOAD_CACHE_SECONDS)
    return payload


def question_student_data(q: Question) -> dict:
    """One question as a student receives it: no answer, no explanation."""
    return {
        "id": str(q.pk),
        "type": q.type,
        "question_text": q.text,
        # A matching question's prompts, and the matches offered for each of them.
        "options": q.options if q.type in q.CHOICE_TYPES or q.type == q.Type.MATCHING else None,
        "match_choices": q.match_choices if q.type == q.Type.MATCHING else None,
        "image_url": reverse("question-image", args=[q.pk]) if q.image else None,
        "language": q.language or None,
        "points": float(q.points),
    }


def questions_student_payload(*, exam: Exam, question_ids: list) -> list[dict]:
    """An attempt's questions as its student receives them, in its order: the exam's own (from
    the cached payload) and the ones drawn for it from banks (read here: each draw is its own)."""
    payload = exam_student_payload(exam)["questions"]
    drawn = [int(pk) for pk in question_ids if str(pk) not in payload]
    if drawn:
        payload = payload | {
            str(q.pk): question_student_data(q)
            for q in Question.objects.filter(pk__in=drawn, bank__isnull=False)
        }
    return [dict(payload[str(pk)]) for pk in question_ids if str(pk) in payload]


def exam_preview_questions(exam: Exam) -> list[dict]:
    """What the preview shows: the exam's questions as a student receives them, in the author's
    order (each student's own order may be shuffled), a bank draw as the first questions it may
    give (each student gets their own)."""
    payload = exam_student_payload(exam)["questions"]
    shown = []
    for entry in exam.questions.order_by("order", "id"):
        if entry.is_draw:
            shown += [question_student_data(q) for q in entry.draw_candidates()[: entry.draw_count]]
        elif str(entry.pk) in payload:
            shown.append(payload[str(entry.pk)])
    return shown
