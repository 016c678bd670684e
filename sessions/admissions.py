"""Exams where a proctor admits each student (Exam.admission_required).

The student, once the steps before the exam are done, asks to be admitted from the start page; a
proctor who watches the exam sees the request live with the student's identity check, and admits
or denies it (with a reason the student reads). An admission lets the student start one attempt
within ADMISSION_VALID_FOR of the decision; the clock starts only then.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.permissions import Can, user_can
from exams.models import Exam
from exams.selectors import exam_available_to, exams_visible_to
from procto.errors import ApplicationError, ForbiddenError, NotFoundError
from sessions.admission_realtime import broadcast_admission
from sessions.errors import ExamNotOpen, NoAttemptsLeft
from sessions.models import Admission, ExamSession, IdentityCheck
from sessions.readiness import CHECK_VALID_FOR, readiness_check

logger = logging.getLogger(__name__)

ADMISSION_VALID_FOR = timedelta(minutes=15)
# A request nobody answered for this long is stale (the student has probably left): proctors no
# longer see it, and asking again renews it. As long as a passing check stays valid.
PENDING_VALID_FOR = CHECK_VALID_FOR
Status = Admission.Status


class AdmissionRequired(ApplicationError):
    code = "ADMISSION_REQUIRED"
    status = 409
    message = _("A proctor must admit you before you start: request admission on the start page.")


class AdmissionNotRequired(ApplicationError):
    code = "ADMISSION_NOT_REQUIRED"
    status = 409
    message = _("This exam does not need a proctor's admission: you can start it directly.")


class AlreadyDecided(ApplicationError):
    code = "ALREADY_DECIDED"
    status = 409
    message = _("This request has already been decided.")


class ReasonRequired(ApplicationError):
    code = "REASON_REQUIRED"
    status = 400
    message = _("Say why the student is not admitted: they will read it.")


# --- state ---------------------------------------------------------------------------------------------


def admission_expires_at(admission: Admission) -> datetime | None:
    if admission.status != Status.ADMITTED or admission.decided_at is None:
        return None
    return admission.decided_at + ADMISSION_VALID_FOR


def admission_state(admission: Admission | None, *, now: datetime | None = None) -> str:
    """What the student's start page shows: none, pending, lapsed (pending so long it left the
    proctors' list), admitted, denied, expired or used."""
    if admission is None:
        return "none"
    now = now or timezone.now()
    if admission.status == Status.PENDING and admission.requested_at <= now - PENDING_VALID_FOR:
        return "lapsed"
    if admission.status != Status.ADMITTED:
        return admission.status
    if admission.session_id is not None:
        return "used"
    if admission_expires_at(admission) <= now:
        return "expired"
    return "admitted"


ADMISSION_REQUIRED_MESSAGES = {
    "pending": "Waiting for a proctor to admit you: the exam starts once they have.",
    "expired": "Your admission has expired (it lasts 15 minutes): request admission again.",
    "lapsed": "Your request waited too long for an answer: request admission again.",
}


def _usable(*, exam: Exam, student: User, now: datetime) -> QuerySet[Admission]:
    return Admission.objects.filter(
        exam=exam,
        student=student,
        status=Status.ADMITTED,
        session__isnull=True,
        decided_at__gt=now - ADMISSION_VALID_FOR,
    )


def admission_latest(*, exam: Exam, student: User) -> Admission | None:
    return Admission.objects.filter(exam=exam, student=student).order_by("-requested_at", "-pk").first()


# --- the student's side ------------------------------------------------------------------------------


def admission_request(*, exam: Exam, student: User) -> tuple[Admission, bool]:
    """Ask the proctors of `exam` to admit `student`: (admission, created).

    Idempotent: returns the waiting request, or an admission not used yet, when there is one (a
    stale waiting request is renewed). Refuses exams needing no admission (AdmissionNotRequired),
    closed exams (ExamNotOpen), missing steps (NotReady) and used-up attempts (NoAttemptsLeft),
    so proctors only see students who could start. A new request reaches the monitors at once.
    """
    if not exam.admission_required:
        raise AdmissionNotRequired()
    if not exam.is_open or not exam_available_to(exam=exam, student=student):
        raise ExamNotOpen()
    readiness_check(exam=exam, student=student)
    if ExamSession.objects.filter(exam=exam, student=student).count() >= exam.allowed_attempts:
        raise NoAttemptsLeft()
    now = timezone.now()
    identity = IdentityCheck.objects.filter(user=student, exam=exam).order_by("-created_at").first()
    with transaction.atomic():
        usable = _usable(exam=exam, student=student, now=now).order_by("-decided_at").first()
        if usable is not None:
            return usable, False
        pending = Admission.objects.select_for_update().filter(
            exam=exam, student=student, status=Status.PENDING
        )
        admission = pending.first()
        if admission is not None:
            _renew(admission, identity, now)
            return admission, False
        try:
            with transaction.atomic():
                admission = Admission.objects.create(
                    exam=exam, student=student, requested_at=now, identity_check=identity
                )
        except IntegrityError:
            # A concurrent request of the same student queued first: that one is ours. No such
            # request: the refusal was of this row itself, an error to raise, not a duplicate.
            admission = pending.first()
            if admission is None:
                raise
            return admission, False
        broadcast_admission(admission)
    logger.info("admission %s: student %s asks to start exam %s", admission.pk, student.pk, exam.pk)
    return admission, True


def _renew(admission: Admission, identity: IdentityCheck | None, now: datetime) -> None:
    """Point a waiting request at the student's latest identity check; wake a stale one up."""
    changed = []
    if identity is not None and admission.identity_check_id != identity.pk:
        admission.identity_check = identity
        changed.append("identity_check")
    if admission.requested_at <= now - PENDING_VALID_FOR:
        admission.requested_at = now
        changed.append("requested_at")
    if changed:
        admission.save(update_fields=changed)
        broadcast_admission(admission)


def admission_use(*, session: ExamSession) -> None:
    """Spend the student's admission on `session`, the attempt being created in this transaction.

    No-op on exams needing no admission. Without an admission to spend it raises
    AdmissionRequired, which rolls the new attempt back: its clock never starts.
    """
    exam = session.exam
    if not exam.admission_required:
        return
    admission = (
        _usable(exam=exam, student=session.student, now=timezone.now())
        .select_for_update()
        .order_by("-decided_at")
        .first()
    )
    if admission is None:
        latest = admission_latest(exam=exam, student=session.student)
        state = admission_state(latest)
        if state == "denied":
            message = f"A proctor did not admit you: {latest.reason}"
        else:
            message = ADMISSION_REQUIRED_MESSAGES.get(state, AdmissionRequired.message)
        raise AdmissionRequired(message, details={"admission": state})
    admission.session = session
    admission.save(update_fields=["session"])


def admission_status_for_student(*, exam: Exam, student: User) -> dict:
    """The student's view of their latest request (the start page polls it)."""
    admission = admission_latest(exam=exam, student=student)
    state = admission_state(admission)
    return {
        "required": exam.admission_required,
        "status": state,
        "reason": admission.reason if state == "denied" else "",
        "requestedAt": admission.requested_at.isoformat() if admission else None,
        "decidedAt": admission.decided_at.isoformat() if admission and admission.decided_at else None,
        "expiresAt": (admission_expires_at(admission).isoformat() if state == "admitted" else None),
    }


def admission_needed(*, exam: Exam, student: User) -> bool:
    """Whether the start button must wait for a proctor (not when resuming a started attempt)."""
    if not exam.admission_required:
        return False
    return not ExamSession.objects.filter(
        exam=exam, student=student, status=ExamSession.Status.IN_PROGRESS
    ).exists()


# --- the proctors' side ------------------------------------------------------------------------------


def admissions_watchable_by(user: User) -> QuerySet[Admission]:
    """Requests on the exams a staff member watches: admins all, teachers their own exams,
    proctors their assigned exams; nobody else's."""
    if not user_can(user, Can.MONITOR_SESSIONS):
        return Admission.objects.none()
    return Admission.objects.select_related("student", "exam", "identity_check", "decided_by").filter(
        exam_id__in=exams_visible_to(user).values("pk")
    )


def admission_get_for_watcher(*, user: User, admission_id) -> Admission:
    """The request if `user` watches its exam; 404 otherwise, as for an id that does not exist."""
    try:
        return admissions_watchable_by(user).get(pk=int(admission_id))
    except (Admission.DoesNotExist, TypeError, ValueError) as exc:
        raise NotFoundError(_("No such admission request.")) from exc


def admissions_pending_for(*, user: User, exam_id: int | None = None) -> QuerySet[Admission]:
    """Requests still waiting (not stale), oldest first, on exams that still need admission
    (a teacher may switch it off mid-exam: those students can start on their own)."""
    admissions = admissions_watchable_by(user).filter(
        status=Status.PENDING,
        requested_at__gt=timezone.now() - PENDING_VALID_FOR,
        exam__admission_required=True,
    )
    if exam_id is not None:
        admissions = admissions.filter(exam_id=exam_id)
    return admissions.order_by("requested_at", "pk")


def admission_decide(*, actor: User, admission_id, admit: bool, reason: str = "") -> Admission:
    """A proctor admits a waiting student, or denies them with a reason the student reads.

    Only staff who watch the exam may decide (404 for anyone else). A request already decided
    raises AlreadyDecided naming the decision; a denial without a reason raises ReasonRequired.
    Records who decided and when, logs it, and tells the exam's monitors.
    """
    if not user_can(actor, Can.MONITOR_SESSIONS):
        raise ForbiddenError(_("Only proctors, teachers and admins admit students."))
    reason = reason.strip()[:300]
    if not admit and not reason:
        raise ReasonRequired()
    watched = admission_get_for_watcher(user=actor, admission_id=admission_id)
    with transaction.atomic():
        # Lock the request only, not the exam and student rows the join reads.
        admission = (
            Admission.objects.select_for_update(of=("self",))
            .select_related("student", "exam", "identity_check")
            .get(pk=watched.pk)
        )
        if admission.status != Status.PENDING:
            who = admission.decided_by.display_name if admission.decided_by else "someone"
            raise AlreadyDecided(
                f"{who} has already {admission.status} this student.",
                details={"status": admission.status},
            )
        admission.status = Status.ADMITTED if admit else Status.DENIED
        admission.reason = "" if admit else reason
        admission.decided_by, admission.decided_at = actor, timezone.now()
        admission.save(update_fields=["status", "reason", "decided_by", "decided_at"])
        broadcast_admission(admission)
    logger.info(
        "admission %s: %s %s student %s to exam %s%s",
        admission.pk,
        actor.pk,
        admission.status,
        admission.student_id,
        admission.exam_id,
        f" ({reason})" if reason and not admit else "",
    )
    return admission
