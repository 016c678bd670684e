"""What a student must have done before an exam starts, by security level, and the services
that record it: consent, the system check, the identity check (the room scan, the last step, is
sessions.room_scan's)."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from accounts.identity_service import embedding_decrypt, identity_images_analyse
from accounts.models import User
from exams.errors import IdentityNotVerified
from exams.models import Accommodation, Exam
from exams.selectors import exam_available_to
from procto.encrypted_files import store_encrypted
from procto.errors import ApplicationError
from proctoring.detectors import identity as faces
from sessions.errors import AttemptInProgress, ExamNotOpen, NoAttemptsLeft, RoomScanNotNeeded
from sessions.models import ExamConsent, ExamSession, IdentityCheck, PreExamRoomScan, SystemCheck
from sessions.room_scan import pre_exam_room_scan_chunk_add, pre_exam_room_scan_done

NOTICE_VERSION = "2026-12"
CHECK_VALID_FOR = timedelta(minutes=30)
FRAME_INTERVAL_MS = {"low": 10_000, "medium": 5_000, "high": 2_000}
REQUIRED_ITEMS = {
    "low": ["browser", "websocket"],
    "medium": ["browser", "websocket", "camera", "microphone", "fullscreen"],
    "high": ["browser", "websocket", "camera", "microphone", "fullscreen", "bandwidth"],
}
# An exam that captures the screen also needs a browser that can share it (any level).
SCREEN_ITEM = "screen"
KNOWN_ITEMS = frozenset([*REQUIRED_ITEMS["high"], SCREEN_ITEM])


class NotReady(ApplicationError):
    code = "CHECKS_REQUIRED"
    status = 409
    message = gettext_lazy("Complete the steps before the exam first.")


def media_exempt(*, exam: Exam, student: User) -> bool:
    return Accommodation.objects.filter(exam=exam, student=student, media_exempt=True).exists()


def required_items(*, exam: Exam, student: User) -> list[str]:
    items = list(REQUIRED_ITEMS[exam.security_level])
    if media_exempt(exam=exam, student=student):
        items = [i for i in items if i not in {"camera", "microphone", "bandwidth"}]
    if exam.captures_screen:
        items.append(SCREEN_ITEM)
    return items


def needs_identity_check(*, exam: Exam, student: User) -> bool:
    return exam.security_level == Exam.SecurityLevel.HIGH and not media_exempt(exam=exam, student=student)


def needs_room_scan(*, exam: Exam, student: User) -> bool:
    """Recorded before the clock starts (the last step), as the identity check is."""
    return needs_identity_check(exam=exam, student=student)


def room_scan_recorded(*, exam: Exam, student: User) -> bool:
    """A finished room scan recent enough to start `exam` with (kept while a new one records)."""
    return pre_exam_room_scan_done(exam=exam, student=student, since=timezone.now() - CHECK_VALID_FOR)


def consent_record(*, exam: Exam, student: User) -> ExamConsent:
    """The student accepted the notice as it reads now; one that now states screen capture
    renews an earlier consent that did not."""
    consent, created = ExamConsent.objects.get_or_create(
        user=student,
        exam=exam,
        defaults={"notice_version": NOTICE_VERSION, "screen_capture": exam.captures_screen},
    )
    if not created and exam.captures_screen and not consent.screen_capture:
        consent.notice_version, consent.screen_capture = NOTICE_VERSION, True
        consent.save(update_fields=["notice_version", "screen_capture"])
    return consent


def consent_covers(*, exam: Exam, student: User) -> bool:
    """A consent to this exam's notice as it reads now: one given before the exam captured the
    student's screen does not cover the capture."""
    consents = ExamConsent.objects.filter(user=student, exam=exam)
    if exam.captures_screen:
        consents = consents.filter(screen_capture=True)
    return consents.exists()


@transaction.atomic
def system_check_record(*, exam: Exam, student: User, items: dict, measurements: dict) -> SystemCheck:
    """Store what the browser found; it passes when every item the exam needs is true."""
    required = required_items(exam=exam, student=student)
    clean_items = {k: bool(v) for k, v in items.items() if k in KNOWN_ITEMS}
    clean_measurements = {
        k: float(v) for k, v in measurements.items() if isinstance(v, int | float) and len(k) <= 32
    }
    return SystemCheck.objects.create(
        user=student,
        exam=exam,
        items=clean_items,
        measurements=dict(list(clean_measurements.items())[:20]),
        required=required,
        passed=all(clean_items.get(item) for item in required),
    )


def identity_check_record(*, exam: Exam, student: User, capture: bytes) -> IdentityCheck:
    """Compare a webcam capture with the student's verified face; store both result and capture.

    Raises IdentityNotVerified (no verified photo yet), VerificationFailed (not an image, no
    usable face) or IdentityBusy (the analysis pool is full).
    """

    student = User.objects.get(pk=student.pk)
    if not student.is_verified or not student.face_embedding:
        raise IdentityNotVerified(code="IDENTITY_NOT_VERIFIED", status=409)
    live = identity_images_analyse(uploads={"live_capture": capture})["live_capture"]
    comparison = faces.compare_embeddings(embedding_decrypt(student.face_embedding), live.embedding)
    return IdentityCheck.objects.create(
        user=student,
        exam=exam,
        capture=store_encrypted(live.jpeg, folder="identity/exam-checks"),
        distance=comparison.distance,
        threshold=comparison.threshold,
        passed=comparison.match,
    )


def pre_exam_room_scan_record(
    *, exam: Exam, student: User, index: int, data: bytes, final: bool, recording_id: str
) -> PreExamRoomScan:
    """Take chunk `index` of the room scan `student` records before starting `exam`
    (sessions.room_scan.pre_exam_room_scan_chunk_add).

    Refuses, before storing any of it, a scan no start could take: on an exam that needs none
    (RoomScanNotNeeded: no proctoring, not high security, or a camera-exempt student), while an
    attempt is in progress (AttemptInProgress: that attempt takes its own scan), on an exam not
    open to the student now (ExamNotOpen) and past the allowed attempts (NoAttemptsLeft), as
    exam_session_start and admission_request refuse them. The caller checked that `student`
    may see `exam` (404 otherwise)."""
    if not (exam.proctoring_enabled and needs_room_scan(exam=exam, student=student)):
        raise RoomScanNotNeeded()
    attempts = ExamSession.objects.filter(exam=exam, student=student)
    in_progress = attempts.filter(status=ExamSession.Status.IN_PROGRESS).first()
    if in_progress is not None:
        raise AttemptInProgress(
            "Your attempt at this exam is already in progress: send its room scan to "
            f"POST /api/exam-sessions/{in_progress.pk}/room-scan.",
            details={"sessionId": str(in_progress.pk)},
        )
    if not exam.is_open or not exam_available_to(exam=exam, student=student):
        raise ExamNotOpen()
    if attempts.count() >= exam.allowed_attempts:
        raise NoAttemptsLeft()
    return pre_exam_room_scan_chunk_add(
        exam=exam, student=student, index=index, data=data, final=final, recording_id=recording_id
    )


def readiness_missing(*, exam: Exam, student: User) -> list[str]:
    """The steps still missing before `student` may start `exam` (empty when ready)."""
    if not exam.proctoring_enabled:
        return []
    since = timezone.now() - CHECK_VALID_FOR
    missing = []
    if not consent_covers(exam=exam, student=student):
        missing.append("consent")
    if not SystemCheck.objects.filter(user=student, exam=exam, passed=True, created_at__gte=since).exists():
        missing.append("system-check")
    if (
        needs_identity_check(exam=exam, student=student)
        and not IdentityCheck.objects.filter(
            user=student, exam=exam, passed=True, created_at__gte=since
        ).exists()
    ):
        missing.append("identity-check")
    if needs_room_scan(exam=exam, student=student) and not room_scan_recorded(exam=exam, student=student):
        missing.append("room-scan")
    return missing


def not_ready(*, exam: Exam, missing: list[str]) -> NotReady:
    """The refusal of a start before the `missing` steps, saying which. A missing room scan
    says where it goes: API clients written when the scan was sent after the start (to the
    attempt) get this first (docs/PROTOCOL.md, "Changes for API clients")."""
    message = gettext("Complete the steps before the exam first: %(steps)s.") % {"steps": ", ".join(missing)}
    if "room-scan" in missing:
        message += " " + gettext(
            "The room scan is recorded before the start: send it to POST /api/exams/%(exam)s/room-scan,"
            " then start."
        ) % {"exam": exam.pk}
    return NotReady(message, details={"missing": missing})


def readiness_check(*, exam: Exam, student: User) -> None:
    missing = readiness_missing(exam=exam, student=student)
    if missing:
        raise not_ready(exam=exam, missing=missing)
