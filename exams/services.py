from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext

from accounts.invitations import student_invite
from accounts.models import User
from accounts.permissions import Can, user_can
from accounts.selectors import users_by_email
from exams import join_code_limits
from exams.errors import JoinCodeLocked, JoinCodeUnknown
from exams.models import Course, Enrolment, Exam, Question, new_join_code
from exams.selectors import exam_has_attempts
from exams.settings_fields import EXAM_SETTING_NAMES
from procto.errors import ConflictError, ForbiddenError

EXAM_FIELDS = {
    "title",
    "description",
    "duration_minutes",
    "start_time",
    "end_time",
    "is_published",
    *EXAM_SETTING_NAMES,
}


def _questions_replace(exam: Exam, questions: Iterable[dict]) -> None:
    # The API sends and takes questions, not bank draws (authored in the admin): those stay, at
    # the places they had among the questions.
    exam.questions.exclude(type=Question.Type.DRAW).delete()
    for position, fields in enumerate(questions, start=1):
        question = Question(exam=exam, order=position, **fields)
        try:
            question.full_clean()
        except ValidationError as exc:
            # Say which question: "questions.3.correct_answer" rather than a bare field name.
            raise ValidationError(
                {f"questions.{position}.{field}": errors for field, errors in exc.message_dict.items()}
            ) from exc
        question.save()


def course_default_for(*, teacher: User) -> Course:
    """The teacher's own course, where their exams land when they name none (made on demand)."""
    title = f"{teacher.display_name}'s exams"
    limit = Course._meta.get_field("title").max_length
    course, created = Course.objects.get_or_create(
        default_for=teacher,
        defaults={"title": title if len(title) <= limit else title[: limit - 9].rstrip() + "…'s exams"},
    )
    if created:
        course.teachers.add(teacher)
    return course


@transaction.atomic
def exam_create(
    *,
    author: User,
    title: str,
    duration_minutes: int,
    start_time: datetime,
    end_time: datetime,
    questions: Iterable[dict] = (),
    course: Course | None = None,
    **settings,
) -> Exam:
    """Create an exam and its questions in one transaction; every question is validated.

    The exam belongs to `course` (the caller checked the author may add to it), or else to the
    author's own course. `questions` are dicts of Question fields; their order is the order
    given. Raises ValidationError (and writes nothing) if the exam or any question is invalid.
    """
    exam = Exam(
        created_by=author,
        course=course or course_default_for(teacher=author),
        title=title,
        duration_minutes=duration_minutes,
        start_time=start_time,
        end_time=end_time,
        **settings,
    )
    exam.full_clean()
    exam.save()
    _questions_replace(exam, questions)
    return exam


@transaction.atomic
def exam_update(
    *, exam: Exam, questions: Iterable[dict] | None = None, course: Course | None = None, **fields
) -> Exam:
    """Change an exam's fields, move it to `course` if given (the caller checked the user teaches
    it), and replace its questions if given.

    Questions cannot change once a student has started the exam (answers refer to them): that
    raises ConflictError. Raises ValidationError for invalid values.
    """
    exam = Exam.objects.select_for_update().get(pk=exam.pk)
    for name, value in fields.items():
        if name not in EXAM_FIELDS:
            raise ValueError(f"not an exam field: {name}")
        setattr(exam, name, value)
    if course is not None:
        exam.course = course
    exam.full_clean()
    exam.save()
    if questions is not None:
        if exam_has_attempts(exam):
            raise ConflictError(
                gettext("Students have already started this exam; its questions can no longer change."),
                code="EXAM_HAS_ATTEMPTS",
            )
        _questions_replace(exam, questions)
    return exam


@transaction.atomic
def exam_delete(*, exam: Exam) -> None:
    """Delete an exam nobody has sat. Sessions are records of students' work and are kept."""
    if exam_has_attempts(exam):
        raise ConflictError(
            gettext("Students have sat this exam; unpublish it instead of deleting it."),
            code="EXAM_HAS_ATTEMPTS",
        )
    exam.delete()


@transaction.atomic
def exam_duplicate(*, exam: Exam, author: User) -> Exam:
    """An unpublished copy with the same settings and questions, authored by `author`."""
    fields = {name: getattr(exam, name) for name in EXAM_FIELDS}
    fields.update(title=f"Copy of {exam.title}"[:200], is_published=False)
    copy = Exam.objects.create(created_by=author, course=exam.course, **fields)
    for question in exam.questions.order_by("order", "id"):
        question.pk = None
        question.exam = copy
        question.save()
    return copy


@transaction.atomic
def exam_questions_append(*, exam: Exam, questions: list[dict]) -> int:
    """Add imported questions after the existing ones; all or nothing. Returns how many."""
    start = exam.questions.count()
    for offset, fields in enumerate(questions, start=1):
        question = Question(exam=exam, order=start + offset, **fields)
        question.full_clean()
        question.save()
    return len(questions)


def course_enrol(*, course: Course, students: Iterable[User], source: str = Enrolment.Source.ADMIN) -> int:
    """Enrol students in a course; those already in it stay as they were. Returns how many are new."""
    existing = set(course.enrolments.values_list("student_id", flat=True))
    new = [Enrolment(course=course, student=s, source=source) for s in students if s.pk not in existing]
    Enrolment.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


@transaction.atomic
def course_create(*, teacher: User, title: str, code: str = "", term: str = "") -> Course:
    """A course `teacher` teaches (an admin who makes one teaches it too until they add others)."""
    course = Course(title=title, code=code, term=term)
    course.full_clean()
    course.save()
    course.teachers.add(teacher)
    return course


def course_teacher_keep(*, course: Course, actor: User) -> None:
    """After `actor` made or saved `course` with a form that lists its teachers: a teacher who
    makes or saves a course teaches it, whatever the form said (taking themselves off would lose
    them the course mid-edit). Administrators are left as the form says: they may manage courses
    they do not teach."""
    if not user_can(actor, Can.SEE_ALL_EXAMS):
        course.teachers.add(actor)


@dataclass
class EnrolmentReport:
    enrolled: list[str] = field(default_factory=list)
    already_enrolled: list[str] = field(default_factory=list)
    invited: list[str] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)  # {"email", "reason"}


@transaction.atomic
def course_students_add(
    *, course: Course, emails: Iterable[str], actor: User, source: str = Enrolment.Source.API
) -> EnrolmentReport:
    """Enrol the students with these e-mail addresses; addresses with no account are invited (an
    account without a password, and an e-mail to choose one). Idempotent: a student already in
    the course is reported as such. Staff accounts are refused: only students enrol."""
    report = EnrolmentReport()
    wanted = list(dict.fromkeys(e.strip().lower() for e in emails if e.strip()))
    existing = users_by_email(wanted)
    enrolled = set(course.enrolments.values_list("student_id", flat=True))
    new = []
    for email in wanted:
        user = existing.get(email)
        if user is None:
            user = student_invite(email=email, invited_by=actor, course_title=course.title)
            report.invited.append(email)
        elif user.role != User.Role.STUDENT:
            report.refused.append({"email": email, "reason": "This account is not a student's."})
            continue
        elif user.pk in enrolled:
            report.already_enrolled.append(email)
            continue
        else:
            report.enrolled.append(email)
        new.append(Enrolment(course=course, student=user, source=source))
        enrolled.add(user.pk)
    Enrolment.objects.bulk_create(new, ignore_conflicts=True)
    return report


@transaction.atomic
def course_student_remove(*, course: Course, student_id) -> bool:
    """Take a student out of a course (their sessions and results stay on record). False if they
    were not in it."""
    deleted, _ = Enrolment.objects.filter(course=course, student_id=student_id).delete()
    return bool(deleted)


@transaction.atomic
def course_join(*, student: User, code: str, address: str | None = None) -> tuple[Course, bool]:
    """Enrol a student in the course whose join code this is (source JOIN_CODE); already in it,
    nothing changes. Returns (course, whether newly enrolled). `address` is the client's (the
    request's REMOTE_ADDR).

    Raises ForbiddenError for a staff account, JoinCodeUnknown for a code no course has, and
    JoinCodeLocked (with retry_after) while the student's account or their address is locked by
    too many wrong codes (exams.join_code_limits): a locked account waits even with a right code;
    a locked address lets through only codes that already let a student in from it."""
    if not user_can(student, Can.TAKE_EXAMS):
        raise ForbiddenError(gettext("Only students join courses."))
    if wait := join_code_limits.seconds_locked(join_code_limits.ACCOUNT, student.pk):
        raise JoinCodeLocked(retry_after=wait)
    # Typed from a board: spaces and lower case are forgiven.
    course = Course.objects.filter(join_code="".join(code.split()).upper()).first()
    if course is None:
        join_code_limits.failure_record(join_code_limits.ACCOUNT, student.pk)
    wait = join_code_limits.seconds_locked(join_code_limits.ADDRESS, address) if address else 0
    # At a locked address, a right code not yet used from it is refused like a wrong one: a
    # guesser learns nothing.
    if wait and not (course and join_code_limits.address_has_joined(address, course.pk)):
        raise JoinCodeLocked(retry_after=wait, from_address=True)
    if course is None:
        if address:
            join_code_limits.failure_record(join_code_limits.ADDRESS, address)
        raise JoinCodeUnknown()
    if address:
        join_code_limits.address_join_record(address, course.pk)
    _, created = Enrolment.objects.get_or_create(
        course=course, student=student, defaults={"source": Enrolment.Source.JOIN_CODE}
    )
    return course, created


@transaction.atomic
def course_join_code_rotate(*, course: Course) -> str:
    """Give the course a new join code; the old one stops working at once. Returns the new one."""
    code = new_join_code()
    while Course.objects.filter(join_code=code).exists():  # 31^8 codes: practically never
        code = new_join_code()
    course.join_code = code
    course.save(update_fields=["join_code"])
    return code
