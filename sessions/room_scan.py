"""A room-scan video uploaded in chunks, assembled and stored encrypted on the session."""

from __future__ import annotations

from django.db import transaction

from procto.encrypted_files import delete_encrypted, read_encrypted, store_encrypted
from procto.errors import ApplicationError, ConflictError
from sessions.errors import SessionClosed
from sessions.models import ExamSession, RoomScanUpload

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


@transaction.atomic
def room_scan_chunk_add(
    *, session: ExamSession, index: int, data: bytes, final: bool, recording_id: str = ""
) -> RoomScanUpload:
    """Append chunk `index`; a repeated index is ignored (a retried upload), a gap is refused.

    A new `recording_id` starts the upload over (the student recorded again, e.g. after a
    reload); a finished scan is replaced by a new recording. On the final chunk the pieces
    become one encrypted video in session.room_scan.
    """
    session = ExamSession.objects.select_for_update(no_key=True).get(pk=session.pk)
    if not session.is_in_progress:
        raise SessionClosed()
    upload, _ = RoomScanUpload.objects.select_for_update().get_or_create(session=session)
    if recording_id and recording_id != upload.recording_id:
        _delete_on_commit(upload.chunks)
        upload.recording_id, upload.chunks, upload.received_bytes, upload.complete = (
            recording_id,
            [],
            0,
            False,
        )
    if upload.complete or index < len(upload.chunks):
        return upload
    if index != len(upload.chunks):
        raise ConflictError(
            "Chunks must arrive in order.",
            code="CHUNK_OUT_OF_ORDER",
            details={"expected": len(upload.chunks)},
        )
    if len(data) > MAX_CHUNK_BYTES or upload.received_bytes + len(data) > MAX_VIDEO_BYTES:
        raise ApplicationError("The room scan is too large.", code="TOO_LARGE", status=413)
    upload.chunks.append(store_encrypted(data, folder=f"room-scans/{session.pk}"))
    upload.received_bytes += len(data)
    if final:
        video = b"".join(read_encrypted(name) for name in upload.chunks)
        replaced = session.room_scan  # a scan recorded again: nothing names the old video now
        session.room_scan = store_encrypted(video, folder="room-scans")
        session.save(update_fields=["room_scan", "updated_at"])
        _delete_on_commit([*upload.chunks, replaced])
        upload.chunks, upload.complete = [], True
    upload.save()
    return upload
