"""Reads of exam sessions, scoped to who is asking."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.permissions import Can, user_can
from exams.models import Enrolment, Exam, Question
from exams.selectors import courses_visible_to, exam_get_for_user, exams_available_to, exams_visible_to
from procto.errors import NotFoundError
from sessions.models import Admission, ExamConsent, ExamSession, IdentityCheck, SystemCheck
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
        raise NotFoundError("No such exam session.") from exc
    own = ExamSession.objects.select_related("student", "exam").filter(student=user)
    try:
        return (own | sessions_watchable_by(user)).distinct().get(pk=session_uuid)
    except ExamSession.DoesNotExist as exc:
        raise NotFoundError("No such exam session.") from exc


def exam_session_get_own(*, user: User, session_id) -> ExamSession:
    """The student's own session; 404 for anyone else's, even a session staff may watch."""
    session = exam_session_get_for_user(user=user, session_id=session_id)
    if session.student_id != user.pk:
        raise NotFoundError("No such exam session.")
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
    if user.role == User.Role.STUDENT:
        # Questions cannot change once an attempt exists, so any attempt covers this question.
        if not ExamSession.objects.filter(student=user, exam_id=question.exam_id).exists():
            raise NotFoundError()
    else:
        exam_get_for_user(user=user, exam_id=question.exam_id)  # 404 unless overseen
    return question
