"""An administrator's three actions on one person (accounts.personal_data, docs/PRIVACY.md), done
as Ada does them in the admin, on local disk and on S3: the purge deletes the student's media and
proctoring data and keeps their grades; the export ZIP holds exactly the documented files, only
theirs; deleting the account anonymises their attempts. Each is audited."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import jsonschema
import pytest
from django.conf import settings as django_settings

from accounts.models import AuditEntry, IdentityVerification, User
from accounts.personal_data import account_delete, personal_data_export, personal_data_purge
from procto.errors import ConflictError, ForbiddenError
from proctoring.models import MediaSample, ProctoringEvent
from proctoring.personal_data import student_data_purge
from proctoring.reports.personal_export import EXPORT_MEMBERS
from proctoring.tests.faces import astronaut, jpeg_bytes
from proctoring.tests.recorded import JPEG, WEBM, record, verify_identity
from sessions.models import Answer, ExamConsent, ExamSession, IdentityCheck, PreExamRoomScan, SystemCheck
from sessions.room_scan import pre_exam_room_scan_chunk_add

pytestmark = pytest.mark.django_db

DOCS = Path(django_settings.BASE_DIR) / "docs"
PROFILE_SCHEMA = json.loads((DOCS / "schemas" / "personal-data-profile.schema.json").read_text())
SESSION_SCHEMA = json.loads((DOCS / "schemas" / "session-export.schema.json").read_text())
SAM_PICTURE = jpeg_bytes(astronaut())
USERS = "/admin/accounts/user/"


def documented_members() -> list[str]:
    """The ZIP's members as docs/PRIVACY.md lists them (the code block after "The ZIP's members")."""
    text = (DOCS / "PRIVACY.md").read_text()
    block = re.search(r"The ZIP's members.*?```\n(.*?)```", text, re.S)
    assert block, "docs/PRIVACY.md lists no ZIP members"
    return block.group(1).strip().splitlines()


def member_pattern(documented: str) -> re.Pattern:
    """`sessions/<session id>/room-scan.<webm|mp4>` → a regex: an id for <...>, alternatives kept."""
    parts = re.split(r"(<[^>]+>)", documented)
    regex = "".join(
        f"({part[1:-1]})" if "|" in part else "[^/]+" if part.startswith("<") else re.escape(part)
        for part in parts
    )
    return re.compile(regex)


@pytest.fixture
def stu_recorded(world, storage_backend):
    """Stu sat physics (ended, graded), verified his identity twice, and accepted its notice;
    Sam sat the same exam, his pictures a different face."""
    ExamConsent.objects.create(user=world.stu, exam=world.physics, notice_version="2026-12")
    first = verify_identity(world.stu)
    second = verify_identity(world.stu)
    stu = record(world.stu_in_physics)
    sam = record(world.sam_in_physics, picture=SAM_PICTURE)
    verify_identity(world.sam)
    return {"stu": stu, "sam": sam, "verifications": [first, second]}


def files_of(user: User) -> set[str]:
    """Every stored file that is `user`'s, read from the database."""
    sessions = ExamSession.objects.filter(student=user)
    names = set(ProctoringEvent.objects.filter(session__in=sessions).values_list("snapshot", flat=True))
    names |= set(sessions.values_list("room_scan", flat=True))
    names |= set(IdentityCheck.objects.filter(user=user).values_list("capture", flat=True))
    for row in IdentityVerification.objects.filter(user=user).values_list("photo", "id_card", "live_capture"):
        names |= set(row)
    names |= set(User.objects.filter(pk=user.pk).values_list("photo", "id_card").get())
    return names - {""}


def admin_action(client, action: str, users: list[User], **extra):
    return client.post(USERS, {"action": action, "_selected_action": [u.pk for u in users], **extra})


# --- purge -------------------------------------------------------------------------------------------


def test_a_purge_deletes_the_students_media_and_proctoring_data_and_keeps_the_grades(
    client, world, storage_backend, stu_recorded
):
    stu_files, sam_files = files_of(world.stu), files_of(world.sam)
    assert len(stu_files) == 10 and set(storage_backend.names()) == stu_files | sam_files
    client.force_login(world.ada)

    confirm = admin_action(client, "purge_proctoring_data", [world.stu])
    assert confirm.status_code == 200
    assert b"Yes, purge their proctoring data" in confirm.content
    assert set(storage_backend.names()) == stu_files | sam_files  # nothing yet

    done = admin_action(client, "purge_proctoring_data", [world.stu], post="yes")
    assert done.status_code == 302

    assert set(storage_backend.names()) == sam_files  # gone from the disk or the bucket
    session = ExamSession.objects.get(pk=stu_recorded["stu"].session.pk)
    assert not ProctoringEvent.objects.filter(session=session).exists()
    assert not MediaSample.objects.filter(session=session).exists()
    assert not IdentityCheck.objects.filter(user=world.stu).exists()
    assert not SystemCheck.objects.filter(user=world.stu).exists()
    assert not IdentityVerification.objects.filter(user=world.stu).exists()
    assert (session.room_scan, session.ip, session.user_agent, session.risk_score) == ("", None, "", 0)
    stu = User.objects.get(pk=world.stu.pk)
    assert (stu.photo, stu.id_card, stu.face_embedding, stu.is_verified) == ("", "", None, False)
    # Kept: the account, the attempt with its answers and score, the consent.
    assert (session.status, session.final_score) == ("submitted", 2)
    assert Answer.objects.filter(session=session).count() == 1
    assert ExamConsent.objects.filter(user=world.stu).exists()
    # Sam's data is untouched.
    assert ProctoringEvent.objects.filter(session=stu_recorded["sam"].session).count() == 3

    entry = AuditEntry.objects.get(action=AuditEntry.Action.DATA_PURGE)
    assert (entry.actor, entry.target, entry.target_ref) == (world.ada, stu, stu.pk)
    assert entry.details["snapshots"] == 2 and entry.details["identity_images"] == 6
    assert entry.ip == "127.0.0.1"


def test_a_purge_deletes_a_room_scan_recorded_before_an_exam_not_started(
    world, local_storage, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        pre_exam_room_scan_chunk_add(
            exam=world.physics, student=world.stu, index=0, data=WEBM, final=True, recording_id="r1"
        )
    assert len(local_storage.names()) == 1
    assert student_data_purge(world.stu)["room_scans"] == 1
    assert local_storage.names() == []
    assert not PreExamRoomScan.objects.exists()


def test_a_purge_is_refused_while_the_student_sits_an_exam(client, world, local_storage):
    recorded = record(world.stu_in_physics, end=False)
    client.force_login(world.ada)
    page = admin_action(client, "purge_proctoring_data", [world.stu], post="yes")
    assert page.status_code == 200
    assert "is sitting Physics final (attempt 1)" in page.content.decode()
    assert set(local_storage.names()) == set(recorded.files)
    with pytest.raises(ConflictError, match="sitting Physics final"):
        personal_data_purge(actor=world.ada, user=world.stu)
    assert set(local_storage.names()) == set(recorded.files)
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.DATA_PURGE).exists()


def test_only_an_administrator_may_purge_export_or_delete(client, world, local_storage):
    recorded = record(world.stu_in_physics)
    for actor in (world.tess, world.pat, world.stu):
        with pytest.raises(ForbiddenError):
            personal_data_purge(actor=actor, user=world.stu)
        with pytest.raises(ForbiddenError):
            personal_data_export(actor=actor, user=world.stu, out=io.BytesIO())
        with pytest.raises(ForbiddenError):
            account_delete(actor=actor, user=world.stu)
    # Tess is staff: the admin does not offer her the actions.
    client.force_login(world.tess)
    for action in ("purge_proctoring_data", "export_personal_data"):
        response = admin_action(client, action, [world.stu], post="yes")
        assert response.status_code in (302, 403)
        assert response.get("Content-Type") != "application/zip"
    assert local_storage.names() == recorded.files
    assert not AuditEntry.objects.filter(action__startswith="data-").exists()


# --- export ------------------------------------------------------------------------------------------


def test_the_code_and_the_docs_list_the_same_zip_members():
    assert documented_members() == list(EXPORT_MEMBERS)


def test_the_export_zip_holds_the_documented_files_of_this_student_only(
    client, world, storage_backend, stu_recorded
):
    stu, sam = stu_recorded["stu"], stu_recorded["sam"]
    first, second = stu_recorded["verifications"]
    client.force_login(world.ada)
    response = admin_action(client, "export_personal_data", [world.stu])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert re.fullmatch(
        rf'attachment; filename="procto-personal-data-{world.stu.pk}-\d{{8}}\.zip"',
        response["Content-Disposition"],
    )
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = archive.namelist()

    # Every member is one the docs list, and each documented kind is there for Stu's data.
    patterns = [member_pattern(documented) for documented in documented_members()]
    for name in names:
        assert any(p.fullmatch(name) for p in patterns), f"{name} is not a documented member"
    folder = f"sessions/{stu.session.pk}"
    snapshot_events = [e.pk for e in stu.events if e.snapshot]
    assert sorted(names) == sorted(
        [
            "README.txt",
            "profile.json",
            "identity/photo.jpg",
            "identity/id-card.jpg",
            # The first verification's images; the second's photo and ID card are the account's.
            f"identity/verification-{first.pk}-photo.jpg",
            f"identity/verification-{first.pk}-id-card.jpg",
            f"identity/verification-{first.pk}-live.jpg",
            f"identity/verification-{second.pk}-live.jpg",
            f"identity/exam-check-{IdentityCheck.objects.get(user=world.stu).pk}.jpg",
            f"{folder}/session.json",
            f"{folder}/media-samples.csv",
            *(f"{folder}/snapshot-{pk}.jpg" for pk in snapshot_events),
            f"{folder}/room-scan.webm",
        ]
    )
    assert len(set(names)) == len(names)

    # The JSON members validate against their published schemas.
    profile = json.loads(archive.read("profile.json"))
    jsonschema.validate(profile, PROFILE_SCHEMA, format_checker=jsonschema.FormatChecker())
    record_json = json.loads(archive.read(f"{folder}/session.json"))
    jsonschema.validate(record_json, SESSION_SCHEMA, format_checker=jsonschema.FormatChecker())
    assert sorted(profile["files"]) == sorted(names)
    assert profile["account"]["email"] == world.stu.email
    assert profile["account"]["photo"] == "identity/photo.jpg"
    assert len(profile["account"]["faceEmbedding"]) == 128
    assert [s["id"] for s in profile["sessions"]] == [str(stu.session.pk)]
    assert profile["sessions"][0]["record"] == f"{folder}/session.json"
    assert [c["noticeVersion"] for c in profile["consents"]] == ["2026-12"]
    assert record_json["student"]["email"] == world.stu.email
    assert len(record_json["events"]) == 3 and len(record_json["answers"]) == 1

    # The pictures and video are the stored files, decrypted; none is Sam's.
    for pk in snapshot_events:
        assert archive.read(f"{folder}/snapshot-{pk}.jpg") == JPEG
    assert archive.read(f"{folder}/room-scan.webm") == WEBM
    assert all(archive.read(name) != SAM_PICTURE for name in names if name.endswith(".jpg"))
    assert not any(str(sam.session.pk) in name for name in names)
    assert world.sam.email.encode() not in b"".join(archive.read(name) for name in names)
    samples = archive.read(f"{folder}/media-samples.csv").decode().splitlines()
    assert samples[0] == "at,kind,face_count,level_dbfs" and len(samples) == 5
    assert archive.read("README.txt").decode().startswith(f"Everything Procto held about {world.stu.email}")

    entry = AuditEntry.objects.get(action=AuditEntry.Action.DATA_EXPORT)
    assert (entry.actor, entry.target) == (world.ada, world.stu)
    assert entry.details["files"] == len(names)
    # Nothing was stored: the storage holds what it held.
    assert len(storage_backend.names()) == len(files_of(world.stu) | files_of(world.sam))


def test_the_export_takes_one_person_at_a_time(client, world, local_storage):
    client.force_login(world.ada)
    response = admin_action(client, "export_personal_data", [world.stu, world.sam])
    assert response.status_code == 302
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.DATA_EXPORT).exists()


# --- account deletion --------------------------------------------------------------------------------


def test_deleting_a_student_in_the_admin_anonymises_their_attempts_and_deletes_their_media(
    client, world, storage_backend, stu_recorded
):
    stu_pk, session_pk = world.stu.pk, stu_recorded["stu"].session.pk
    sam_files = files_of(world.sam)
    client.force_login(world.ada)
    page = client.get(f"{USERS}{stu_pk}/delete/")
    assert page.status_code == 200
    assert b"stay, anonymous" in page.content and b"Yes, I" in page.content

    response = client.post(f"{USERS}{stu_pk}/delete/", {"post": "yes"})
    assert response.status_code == 302

    assert not User.objects.filter(pk=stu_pk).exists()
    assert set(storage_backend.names()) == sam_files
    session = ExamSession.objects.get(pk=session_pk)
    assert session.student is None and session.student_name == "Deleted account"
    assert str(session) == "Deleted account · Physics final · attempt 1"
    assert (session.status, session.final_score, session.ip) == ("submitted", 2, None)
    assert Answer.objects.filter(session=session).count() == 1
    assert not ProctoringEvent.objects.filter(session=session).exists()
    assert not ExamConsent.objects.filter(user_id=stu_pk).exists()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.ACCOUNT_DELETE)
    assert (entry.actor, entry.target, entry.target_ref) == (world.ada, None, stu_pk)
    assert entry.details["anonymous_sessions"] == 1 and entry.details["role"] == "student"
    assert "student@school.example" not in json.dumps(entry.details)


def test_an_anonymous_attempt_still_shows_in_its_teachers_pages_and_exports(client, world, local_storage):
    session = record(world.stu_in_physics).session
    account_delete(actor=world.ada, user=world.stu)
    client.force_login(world.tess)
    for url in (
        f"/proctoring/sessions/{session.pk}/",
        f"/sessions/{session.pk}/grade/",
        f"/exams/{world.physics.pk}/report/",
        f"/api/exam-sessions/reports?examId={world.physics.pk}&format=csv",
        f"/proctoring/sessions/{session.pk}/report.pdf",
        f"/api/exam-sessions/{session.pk}/export?format=csv",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    assert b"Deleted account" in client.get(f"/proctoring/sessions/{session.pk}/").content
    data = client.get(f"/api/exam-sessions/{session.pk}/export?format=json").json()["data"]
    assert data["student"] is None
    jsonschema.validate(data, SESSION_SCHEMA, format_checker=jsonschema.FormatChecker())


def test_deleting_an_account_is_refused_while_its_student_sits_an_exam(client, world, local_storage):
    recorded = record(world.stu_in_physics, end=False)
    client.force_login(world.ada)
    page = client.get(f"{USERS}{world.stu.pk}/delete/")
    assert "is sitting Physics final (attempt 1)" in page.content.decode()
    client.post(f"{USERS}{world.stu.pk}/delete/", {"post": "yes"})
    assert User.objects.filter(pk=world.stu.pk).exists()
    assert local_storage.names() == recorded.files


def test_deleting_several_students_at_once_deletes_each(client, world, local_storage):
    record(world.stu_in_physics)
    record(world.sam_in_physics)
    client.force_login(world.ada)
    confirm = admin_action(client, "delete_selected", [world.stu, world.sam])
    assert b"stay, anonymous" in confirm.content
    admin_action(client, "delete_selected", [world.stu, world.sam], post="yes")
    assert not User.objects.filter(pk__in=[world.stu.pk, world.sam.pk]).exists()
    assert local_storage.names() == []
    assert ExamSession.objects.filter(exam=world.physics, student=None).count() == 2
    assert AuditEntry.objects.filter(action=AuditEntry.Action.ACCOUNT_DELETE).count() == 2


def test_a_user_deleted_outside_the_admin_loses_their_media_too(world, local_storage):
    recorded = record(world.stu_in_physics)
    verify_identity(world.stu)
    world.stu.delete()
    assert local_storage.names() == []
    assert ExamSession.objects.get(pk=recorded.session.pk).student is None


def test_an_account_other_records_need_is_refused_before_anything_is_deleted(world, local_storage):
    # Tess authored exams (PROTECT): her account cannot go, and her identity images must not go
    # first, as a purge followed by a refused delete would leave them.
    verification = verify_identity(world.tess)
    with pytest.raises(ConflictError, match="exams refer to the account"):
        account_delete(actor=world.ada, user=world.tess)
    assert set(local_storage.names()) == {verification.photo, verification.id_card, verification.live_capture}
    assert User.objects.get(pk=world.tess.pk).is_verified
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.ACCOUNT_DELETE).exists()
