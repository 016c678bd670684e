"""A room-scan video uploaded in chunks, assembled and stored encrypted.

The student's journey records it before the exam starts (a PreExamRoomScan per student and exam):
the clock starts only once it is in, and starting moves it to the new attempt
(`pre_exam_room_scan_attach`, called by `exam_session_start`). An attempt in progress may also
take a scan directly (`room_scan_chunk_add`: API clients, a new recording during the exam).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from exams.models import Exam
from procto.encrypted_files import delete_encrypted, read_encrypted, store_encrypted
from procto.errors import ApplicationError, ConflictError
from sessions.errors import SessionClosed
from sessions.models import ExamSession, PreExamRoomScan, RoomScanUpload

MAX_CHUNK_BYTES = 5 * 1024 * 1024
MAX_VIDEO_BYTES = 60 * 1024 * 1024


def _delete_on_commit(names: list[str]) -> None:
    """Delete the files once the rows that stop naming them are committed. Deleted at once, a
    rollback (a chunk refused, a failed write) left rows naming files that were gone: joining
    them failed, and the scan could never finish."""
    names = [name for name in names if name]

    def delete() -> None:
        for name in names:
            delete_encrypted(name)

    if names:
        transaction.on_commit(delete, robust=True)


def _chunk_append(
    upload: RoomScanUpload | PreExamRoomScan,
    *,
    folder: str,
    index: int,
    data: bytes,
    final: bool,
    recording_id: str,
) -> bytes | None:
    """Append chunk `index` to the locked `upload`; returns the whole video on its final chunk.

    A repeated index is ignored (a retried upload), a gap is refused. A new `recording_id`
    starts the upload over (the student recorded again, e.g. after a reload); a finished
    upload is started over by a new recording only. The caller saves `upload`.
    """
    if recording_id and recording_id != upload.recording_id:
        _delete_on_commit(upload.chunks)
        upload.recording_id, upload.chunks, upload.received_bytes, upload.complete = (
            recording_id,
            [],
            0,
            False,
        )
    if upload.complete or index < len(upload.chunks):
        return None
    if index != len(upload.chunks):
        raise ConflictError(
            gettext("Chunks must arrive in order."),
            code="CHUNK_OUT_OF_ORDER",
            details={"expected": len(upload.chunks)},
        )
    if len(data) > MAX_CHUNK_BYTES or upload.received_bytes + len(data) > MAX_VIDEO_BYTES:
        raise ApplicationError(gettext("The room scan is too large."), code="TOO_LARGE", status=413)
    upload.chunks.append(store_encrypted(data, folder=folder))
    upload.received_bytes += len(data)
    if not final:
        return None
    video = b"".join(read_encrypted(name) for name in upload.chunks)
    _delete_on_commit(upload.chunks)
    upload.chunks, upload.complete = [], True
    return video


@transaction.atomic
def room_scan_chunk_add(
    *, session: ExamSession, index: int, data: bytes, final: bool, recording_id: str = ""
) -> RoomScanUpload:
    """Append chunk `index` of an attempt's scan (see _chunk_append); on the final chunk the
    pieces become one encrypted video in session.room_scan. Raises SessionClosed once the
    attempt has ended."""
    session = ExamSession.objects.select_for_update(no_key=True).get(pk=session.pk)
    if not session.is_in_progress:
        raise SessionClosed()
    upload, _ = RoomScanUpload.objects.select_for_update().get_or_create(session=session)
    video = _chunk_append(
        upload,
        folder=f"room-scans/{session.pk}",
        index=index,
        data=data,
        final=final,
        recording_id=recording_id,
    )
    if video is not None:
        replaced = session.room_scan  # a scan recorded again: nothing names the old video now
        session.room_scan = store_encrypted(video, folder="room-scans")
        session.save(update_fields=["room_scan", "updated_at"])
        _delete_on_commit([replaced])
    upload.save()
    return upload


@transaction.atomic
def pre_exam_room_scan_chunk_add(
    *, exam: Exam, student: User, index: int, data: bytes, final: bool, recording_id: str = ""
) -> PreExamRoomScan:
    """Append chunk `index` of the scan `student` records before starting `exam` (see
    _chunk_append); on the final chunk the pieces become one encrypted video, and the scan
    counts as done from then (readiness). Precondition: the caller checked that `student` may
    take `exam`.

    A finished scan recorded again stays the scan (scan.video, done and taken by a start) while
    the new recording arrives; the new video replaces it, and the earlier file is deleted, only
    once its final chunk is in. A student who gives up recording again, or whose upload fails,
    still has the earlier scan."""
    PreExamRoomScan.objects.get_or_create(user=student, exam=exam)
    scan = PreExamRoomScan.objects.select_for_update().get(user=student, exam=exam)
    video = _chunk_append(
        scan,
        folder=f"room-scans/before/{exam.pk}",
        index=index,
        data=data,
        final=final,
        recording_id=recording_id,
    )
    if video is not None:
        _delete_on_commit([scan.video])  # the scan recorded before this one, if any
        scan.video = store_encrypted(video, folder="room-scans")
        scan.completed_at = timezone.now()
    scan.save()
    return scan


def pre_exam_room_scan_done(*, exam: Exam, student: User, since: datetime) -> bool:
    """Whether `student` finished a room scan for `exam` at or after `since` (a recording again
    under way does not undo it: `video` is the last finished one, `complete` only the upload's)."""
    return (
        PreExamRoomScan.objects.filter(user=student, exam=exam, completed_at__gte=since)
        .exclude(video="")
        .exists()
    )


def pre_exam_room_scan_attach(*, session: ExamSession) -> bool:
    """Give a new attempt the room scan its student recorded before starting: the video moves to
    session.room_scan and the pre-exam scan is gone (the next attempt records its own). Returns
    whether there was one. Runs inside exam_session_start's transaction, after readiness_check.
    The chunks of a recording again left unfinished are deleted."""
    scan = (
        PreExamRoomScan.objects.select_for_update()
        .filter(user=session.student, exam=session.exam)
        .exclude(video="")
        .first()
    )
    if scan is None:
        return False
    session.room_scan = scan.video
    session.save(update_fields=["room_scan", "updated_at"])
    # The video is the attempt's now: the row's delete must leave it (and takes the chunks).
    scan.video = ""
    scan.delete()
    return True


@receiver(post_delete, sender=PreExamRoomScan)
def pre_exam_room_scan_files_delete(sender, instance: PreExamRoomScan, **kwargs) -> None:
    """However a pre-exam scan's row goes (a start, the retention job, its exam, course or
    student deleted), its files go with it, once that is committed: nothing else names them, and
    retention finds files from the rows, so a cascade used to leave them in storage for good."""
    _delete_on_commit([instance.video, *instance.chunks])
