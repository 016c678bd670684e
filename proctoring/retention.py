"""Deleting proctoring data once its retention period is over (docs/PRIVACY.md).

`media_retention_apply` is the hourly beat job (proctoring.tasks.media_retention_apply). For each
kind of data (exams.retention) it finds the sessions whose period has run out, counted from the
session's end with the exam's own period or the site's, and deletes that kind of their data.

A session is *held*, whatever its age, while:

- it is in progress, or its result is not final (answers waiting for manual grading);
- its review is open: it is flagged for a proctor (its risk reached the flag threshold) and
  alerts are still open, neither confirmed nor dismissed.

Procto has no appeals: a student disputes a result with their teacher. An appeal feature would
add its open appeals to `held_sessions`.

Files go first, through Django's storage API (so from local disk or the S3 bucket alike), then
the rows that named them: a file never outlives its record, and a run that stops half-way (a
storage error, the time budget) is finished by the next one. An administrator's purge of one
person (proctoring.personal_data) uses the same deletions.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import IdentityVerification, User
from exams.models import Exam
from exams.retention import RETENTION_KINDS, RetentionKind, site_retention_days
from procto.encrypted_files import delete_encrypted
from proctoring.models import MediaSample, ProctoringEvent
from proctoring.screen import SCREENSHOT
from sessions.models import Answer, ExamSession, IdentityCheck, PreExamRoomScan, RoomScanUpload
from sessions.readiness import CHECK_VALID_FOR

logger = logging.getLogger(__name__)

# Sessions handled per query; a run goes on batch after batch until nothing is due.
BATCH = 200
# A run stops after this long and leaves the rest to the next one (tasks have their own limit).
TIME_BUDGET_SECONDS = 600.0
# A room scan recorded before an exam opens it for CHECK_VALID_FOR; one that no attempt took by
# then is of no use. The hour beyond lets a start already under way take it first.
UNUSED_ROOM_SCAN_KEPT = CHECK_VALID_FOR + timedelta(hours=1)


# --- what may not be deleted yet ------------------------------------------------------------------


def review_open() -> Exists:
    """The session (the outer query's row) has alerts still open."""
    return Exists(ProctoringEvent.objects.filter(session=OuterRef("pk"), review_status="open"))


def held_sessions() -> Q:
    """Sessions whose data stays whatever its age: in progress, result not final, under review."""
    return (
        Q(status=ExamSession.Status.IN_PROGRESS)
        | Q(ended_at__isnull=True)
        | Q(grading=ExamSession.Grading.PENDING)
        | (Q(flagged=True) & review_open())
    )


def _periods(kind: RetentionKind) -> list[tuple[Q, int]]:
    """(which exams, days) for every period of `kind` in use: the site's, and each exam's own."""
    own = (
        Exam.objects.exclude(**{f"{kind.exam_field}__isnull": True})
        .values_list(kind.exam_field, flat=True)
        .distinct()
        .order_by()
    )
    periods = [(Q(**{f"{kind.exam_field}__isnull": True}), site_retention_days(kind.key))]
    return periods + [(Q(**{kind.exam_field: days}), days) for days in own]


def ended_before_period(kind: RetentionKind, now: datetime) -> Q:
    """Sessions that ended longer ago than their exam's period of `kind`."""
    due = Q(pk__in=[])
    for exams, days in _periods(kind):
        due |= Q(exam__in=Exam.objects.filter(exams), ended_at__lte=now - timedelta(days=days))
    return due


# --- deleting one kind of data of some sessions ---------------------------------------------------


def stored_files_delete(names: Iterable[str]) -> int:
    """Delete each named file from the default storage (local disk or S3); a name already gone
    is no error. Returns how many names were given (empty ones aside)."""
    unique = [name for name in dict.fromkeys(names) if name]
    for name in unique:
        delete_encrypted(name)
    return len(unique)


def _pictures(sessions: QuerySet[ExamSession]) -> QuerySet[ProctoringEvent]:
    return ProctoringEvent.objects.filter(session__in=sessions).exclude(snapshot="")


def frames_delete(sessions: QuerySet[ExamSession]) -> Counter:
    """The webcam pictures saved with the sessions' events, and their face-count series. The
    events stay (their type, time and review), without their picture."""
    rows = list(_pictures(sessions).exclude(type=SCREENSHOT).values_list("pk", "snapshot"))
    deleted = Counter(snapshots=stored_files_delete(name for _, name in rows))
    ProctoringEvent.objects.filter(pk__in=[pk for pk, _ in rows]).update(snapshot="")
    deleted["frame_samples"], _ = MediaSample.objects.filter(
        session__in=sessions, kind=MediaSample.Kind.FRAME
    ).delete()
    return deleted


def screenshots_delete(sessions: QuerySet[ExamSession]) -> Counter:
    """The pictures of the sessions' shared screens. Their screenshot-captured records stay (when,
    why, how large), without their picture."""
    rows = list(_pictures(sessions).filter(type=SCREENSHOT).values_list("pk", "snapshot"))
    deleted = Counter(screenshots=stored_files_delete(name for _, name in rows))
    ProctoringEvent.objects.filter(pk__in=[pk for pk, _ in rows]).update(snapshot="")
    return deleted


def audio_delete(sessions: QuerySet[ExamSession]) -> Counter:
    """The sessions' microphone levels (the sound itself is never stored)."""
    count, _ = MediaSample.objects.filter(session__in=sessions, kind=MediaSample.Kind.AUDIO).delete()
    return Counter(audio_samples=count)


def room_scans_delete(sessions: QuerySet[ExamSession]) -> Counter:
    """The sessions' room-scan videos, and the chunks of any upload left unfinished."""
    videos = list(sessions.exclude(room_scan="").values_list("pk", "room_scan"))
    uploads = RoomScanUpload.objects.filter(session__in=sessions)
    chunks = [name for names in uploads.values_list("chunks", flat=True) for name in names]
    deleted = Counter(room_scans=stored_files_delete(name for _, name in videos))
    deleted["room_scan_chunks"] = stored_files_delete(chunks)
    ExamSession.objects.filter(pk__in=[pk for pk, _ in videos]).update(room_scan="")
    uploads.delete()
    return deleted


def pre_exam_room_scans_delete(scans: QuerySet[PreExamRoomScan]) -> Counter:
    """Room scans recorded before an exam that no attempt took: the video, and the chunks of a
    recording never finished."""
    rows = list(scans.values_list("pk", "video", "chunks"))
    deleted = Counter(room_scans=stored_files_delete(video for _, video, _ in rows))
    deleted["room_scan_chunks"] = stored_files_delete(name for _, _, chunks in rows for name in chunks)
    gone = PreExamRoomScan.objects.filter(pk__in=[pk for pk, _, _ in rows])
    # The files are gone: rows naming none leave nothing for the delete receiver to delete again.
    gone.update(video="", chunks=[])
    gone.delete()
    return deleted


def identity_checks_delete(checks: QuerySet[IdentityCheck]) -> Counter:
    """Pre-exam identity checks, with the webcam capture each compared with the ID photo. A
    proctor's admission that showed one keeps its decision (its link empties)."""
    rows = list(checks.values_list("pk", "capture"))
    deleted = Counter(identity_captures=stored_files_delete(name for _, name in rows))
    deleted["identity_checks"], _ = IdentityCheck.objects.filter(pk__in=[pk for pk, _ in rows]).delete()
    return deleted


def answers_delete(sessions: QuerySet[ExamSession]) -> Counter:
    """The sessions' answers with their marks and feedback; each session's final score stays."""
    count, _ = Answer.objects.filter(session__in=sessions).delete()
    return Counter(answers=count)


def verification_images_delete(verifications: QuerySet[IdentityVerification]) -> Counter:
    """The images of past identity verifications: the face photos, ID cards and live captures
    they compared. An image the person still uses (their current photo or ID card, or a
    verification not among these) stays; the verifications keep their outcome and review."""
    rows = list(verifications.values_list("pk", "user_id", "photo", "id_card", "live_capture"))
    if not rows:
        return Counter()
    ids = [row[0] for row in rows]
    users = {row[1] for row in rows}
    in_use = {
        name
        for names in IdentityVerification.objects.filter(user__in=users)
        .exclude(pk__in=ids)
        .values_list("photo", "id_card", "live_capture")
        for name in names
    }
    current = User.objects.filter(pk__in=users).values_list("photo", "id_card")
    in_use |= {name for names in current for name in names}
    names = {name for row in rows for name in row[2:]} - in_use
    deleted = Counter(identity_images=stored_files_delete(sorted(names)))
    IdentityVerification.objects.filter(pk__in=ids).update(photo="", id_card="", live_capture="")
    return deleted


# --- the job ---------------------------------------------------------------------------------------


def _has(kind: str) -> Q:
    """Sessions that still hold data of `kind` (so that a run ends once none is left)."""
    pictures = ProctoringEvent.objects.filter(session=OuterRef("pk")).exclude(snapshot="")
    if kind == "frames":
        return Q(Exists(pictures.exclude(type=SCREENSHOT))) | Q(
            Exists(MediaSample.objects.filter(session=OuterRef("pk"), kind=MediaSample.Kind.FRAME))
        )
    if kind == "screenshots":
        return Q(Exists(pictures.filter(type=SCREENSHOT)))
    if kind == "audio":
        return Q(Exists(MediaSample.objects.filter(session=OuterRef("pk"), kind=MediaSample.Kind.AUDIO)))
    if kind == "room_scans":
        return ~Q(room_scan="") | Q(Exists(RoomScanUpload.objects.filter(session=OuterRef("pk"))))
    if kind == "answers":
        return Q(Exists(Answer.objects.filter(session=OuterRef("pk"))))
    raise ValueError(kind)


SESSION_DELETERS: dict[str, Callable[[QuerySet[ExamSession]], Counter]] = {
    "frames": frames_delete,
    "screenshots": screenshots_delete,
    "audio": audio_delete,
    "room_scans": room_scans_delete,
    "answers": answers_delete,
}


def sessions_due(kind: RetentionKind, now: datetime) -> QuerySet[ExamSession]:
    """Sessions past their period of `kind`, not held, that still hold data of that kind."""
    return (
        ExamSession.objects.filter(ended_before_period(kind, now))
        .exclude(held_sessions())
        .filter(_has(kind.key))
        .order_by("ended_at", "pk")
    )


def identity_checks_due(now: datetime) -> QuerySet[IdentityCheck]:
    """Identity checks past their exam's period: counted from the capture and from the end of
    the student's latest attempt at that exam, none of which may be held."""
    kind = next(kind for kind in RETENTION_KINDS if kind.key == "identity")
    due = Q(pk__in=[])
    for exams, days in _periods(kind):
        cutoff = now - timedelta(days=days)
        attempts = ExamSession.objects.filter(student=OuterRef("user"), exam=OuterRef("exam"))
        recent = attempts.filter(held_sessions() | Q(ended_at__gt=cutoff))
        due |= Q(exam__in=Exam.objects.filter(exams), created_at__lte=cutoff) & ~Q(Exists(recent))
    return IdentityCheck.objects.filter(due).order_by("created_at", "pk")


def pre_exam_room_scans_due(now: datetime) -> QuerySet[PreExamRoomScan]:
    """Room scans recorded before an exam that can no longer open it (UNUSED_ROOM_SCAN_KEPT)."""
    return PreExamRoomScan.objects.filter(updated_at__lte=now - UNUSED_ROOM_SCAN_KEPT).order_by(
        "updated_at", "pk"
    )


def verifications_due(now: datetime) -> QuerySet[IdentityVerification]:
    """Identity verifications older than the site's identity period, not waiting for a review,
    whose images are not all gone yet. Not tied to one exam: the site's period applies."""
    cutoff = now - timedelta(days=site_retention_days("identity"))
    return (
        IdentityVerification.objects.filter(created_at__lte=cutoff)
        .exclude(review=IdentityVerification.Review.PENDING)
        .exclude(photo="", id_card="", live_capture="")
        .order_by("created_at", "pk")
    )


def media_retention_apply(
    *, now: datetime | None = None, time_budget: float = TIME_BUDGET_SECONDS
) -> Counter:
    """Delete every kind of proctoring data whose retention period is over (see the module).

    Side effects: files deleted from the default storage, rows deleted or emptied. Returns how
    many of each thing were deleted. Safe to run twice at once or after a crash: each step finds
    only what is still there.
    """
    now = now or timezone.now()
    started = time.monotonic()
    deleted: Counter = Counter()

    def out_of_time() -> bool:
        return time.monotonic() - started > time_budget

    def drain(due: Callable[[], QuerySet], delete: Callable[[QuerySet], Counter]) -> None:
        nonlocal deleted
        while not out_of_time() and (ids := list(due().values_list("pk", flat=True)[:BATCH])):
            deleted += delete(due().model.objects.filter(pk__in=ids))

    for kind in RETENTION_KINDS:
        if kind.key == "identity":
            drain(lambda: identity_checks_due(now), identity_checks_delete)
            drain(lambda: verifications_due(now), verification_images_delete)
        else:
            drain(lambda kind=kind: sessions_due(kind, now), SESSION_DELETERS[kind.key])
        if kind.key == "room_scans":
            drain(lambda: pre_exam_room_scans_due(now), pre_exam_room_scans_delete)
    if out_of_time():
        logger.warning("media retention stopped after %.0f s; the next run goes on", time_budget)
    logger.info("media retention: %s", dict(deleted) or "nothing due")
    return deleted
