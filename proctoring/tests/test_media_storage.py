"""Snapshots, room scans and exports on local disk and on S3 (procto/tests/s3.py): written
encrypted, private, read back, deleted, and served only through the permission-checked views."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from pypdf import PdfReader

from procto.encrypted_files import read_encrypted
from procto.errors import ConflictError
from procto.tests.s3 import ON_S3_ONLY
from proctoring.services import event_record, session_lock
from proctoring.tests.faces import jpeg_bytes, two_people
from sessions.room_scan import room_scan_chunk_add

pytestmark = pytest.mark.django_db

JPEG = jpeg_bytes(two_people())
WEBM_CHUNKS = [b"\x1a\x45\xdf\xa3" + b"\x00" * 60 + b"first second", b"of the room scan", b"and the last"]
WEBM = b"".join(WEBM_CHUNKS)


@pytest.fixture
def snapshot_event(world, storage_backend):
    """A server alert in Stu's physics session, with the webcam frame that opened it."""
    session = world.stu_in_physics
    with transaction.atomic():
        event, _ = event_record(
            session=session_lock(session.pk),
            type="multiple-faces",
            source="server",
            occurred_at=timezone.now() - timedelta(minutes=2),
            snapshot=JPEG,
        )
    return event


def room_scan_upload(session, recording_id: str) -> None:
    """A room scan uploaded in three chunks as the browser sends them, each its own request."""
    for index, chunk in enumerate(WEBM_CHUNKS):
        room_scan_chunk_add(
            session=session,
            index=index,
            data=chunk,
            final=index == len(WEBM_CHUNKS) - 1,
            recording_id=recording_id,
        )


@pytest.fixture
def room_scan(world, storage_backend, django_capture_on_commit_callbacks):
    """Stu's room scan, uploaded in three chunks as the browser sends it."""
    session = world.stu_in_physics
    with django_capture_on_commit_callbacks(execute=True):
        room_scan_upload(session, "r1")
    session.refresh_from_db()
    return session


def snapshot_url(event) -> str:
    return f"/proctoring/events/{event.pk}/snapshot.jpg"


def room_scan_url(session) -> str:
    return f"/proctoring/sessions/{session.pk}/room-scan"


# --- snapshots -----------------------------------------------------------------------------------


def test_a_snapshot_is_stored_encrypted_and_private(storage_backend, snapshot_event, client):
    name = snapshot_event.snapshot
    assert storage_backend.names() == [name]
    storage_backend.assert_encrypted_at_rest(name, JPEG)
    storage_backend.assert_private(name, client)


def test_a_snapshot_is_served_decrypted_to_its_proctor_only(storage_backend, snapshot_event, client, world):
    client.force_login(world.pat)
    response = client.get(snapshot_url(snapshot_event))
    assert response.status_code == 200
    assert (response.content, response["Content-Type"]) == (JPEG, "image/jpeg")
    assert response["Cache-Control"] == "private, no-store"

    for student in (world.sam, world.stu):  # another student, and the one on the picture
        client.force_login(student)
        response = client.get(snapshot_url(snapshot_event))
        assert response.status_code == 403
        assert JPEG not in response.content


@ON_S3_ONLY
def test_a_snapshot_s3_signs_a_url_for_expires(storage_backend, snapshot_event):
    storage_backend.assert_signed_url_expires(snapshot_event.snapshot)


def test_a_snapshot_gone_from_the_storage_is_404_not_500(storage_backend, snapshot_event, client, world):
    from procto.encrypted_files import delete_encrypted

    delete_encrypted(snapshot_event.snapshot)
    assert storage_backend.names() == []
    client.force_login(world.pat)
    assert client.get(snapshot_url(snapshot_event)).status_code == 404


# --- room scans ----------------------------------------------------------------------------------


def test_a_room_scan_is_one_encrypted_private_object_once_its_chunks_are_joined(
    storage_backend, room_scan, client
):
    # The chunks, encrypted while the upload ran, are deleted once joined.
    assert storage_backend.names() == [room_scan.room_scan]
    storage_backend.assert_encrypted_at_rest(room_scan.room_scan, WEBM)
    storage_backend.assert_private(room_scan.room_scan, client)


def test_a_room_scan_is_played_with_ranges_to_its_teacher_only(storage_backend, room_scan, client, world):
    client.force_login(world.tess)
    response = client.get(room_scan_url(room_scan))
    assert (response.status_code, response.content, response["Content-Type"]) == (200, WEBM, "video/webm")
    response = client.get(room_scan_url(room_scan), headers={"Range": "bytes=4-11"})
    assert (response.status_code, response.content) == (206, WEBM[4:12])

    client.force_login(world.sam)
    response = client.get(room_scan_url(room_scan))
    assert response.status_code == 403
    assert WEBM not in response.content


def test_a_room_scan_recorded_again_leaves_only_the_new_video_in_storage(
    storage_backend, room_scan, django_capture_on_commit_callbacks
):
    # The student recorded again (a reload): no row names the first video any more, so nothing
    # (retention, a purge, the account's deletion) would ever have deleted it.
    first = room_scan.room_scan
    with django_capture_on_commit_callbacks(execute=True):
        room_scan_upload(room_scan, "r2")
    room_scan.refresh_from_db()
    assert room_scan.room_scan != first
    assert storage_backend.names() == [room_scan.room_scan]


def test_a_new_recording_refused_at_its_first_chunk_leaves_the_unfinished_one_whole(
    storage_backend, world, django_capture_on_commit_callbacks
):
    # The refused chunk rolls the upload back to the first recording's chunks: their files must
    # still be there, or joining them answers 500 and the room scan can never finish.
    session = world.stu_in_physics
    with django_capture_on_commit_callbacks(execute=True):
        room_scan_chunk_add(session=session, index=0, data=WEBM_CHUNKS[0], final=False, recording_id="r1")
        with pytest.raises(ConflictError):
            room_scan_chunk_add(session=session, index=1, data=b"late", final=False, recording_id="r2")
        room_scan_chunk_add(session=session, index=1, data=WEBM_CHUNKS[1], final=False, recording_id="r1")
        room_scan_chunk_add(session=session, index=2, data=WEBM_CHUNKS[2], final=True, recording_id="r1")
    session.refresh_from_db()
    assert storage_backend.names() == [session.room_scan]
    assert read_encrypted(session.room_scan) == WEBM


@ON_S3_ONLY
def test_a_room_scan_s3_signs_a_url_for_expires(storage_backend, room_scan):
    storage_backend.assert_signed_url_expires(room_scan.room_scan)


# --- exports -------------------------------------------------------------------------------------


def test_the_pdf_export_embeds_the_snapshot_read_back_from_the_storage(
    storage_backend, snapshot_event, client, world
):
    # Exports are made on request and streamed, never stored: nothing new lands in the storage.
    client.force_login(world.tess)
    response = client.get(f"/proctoring/sessions/{snapshot_event.session_id}/report.pdf")

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    images = [image for page in PdfReader(io.BytesIO(response.content)).pages for image in page.images]
    assert len(images) == 1
    assert storage_backend.names() == [snapshot_event.snapshot]


@pytest.mark.parametrize("export", ["report.pdf", "export?format=json", "export?format=csv"])
def test_an_export_is_refused_to_another_student(storage_backend, snapshot_event, client, world, export):
    client.force_login(world.sam)
    prefix = "/proctoring/sessions" if export.endswith(".pdf") else "/api/exam-sessions"
    response = client.get(f"{prefix}/{snapshot_event.session_id}/{export}")
    assert response.status_code in (403, 404)
    assert b"student@school.example" not in response.content
