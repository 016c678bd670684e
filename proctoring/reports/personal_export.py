"""Everything Procto holds about one person, as a ZIP (docs/PRIVACY.md, "The export").

Members (EXPORT_MEMBERS, the list docs/PRIVACY.md documents; `<...>` is an id):

- `README.txt`: what the ZIP is, for whom, when, and this list;
- `profile.json`: the account, courses, accommodations, identity verifications and checks,
  system checks, consents, admissions, each attempt's address and browser, LMS accounts, API
  logins and the audit trail about them, and `files`, every member's name
  (docs/schemas/personal-data-profile.schema.json);
- `identity/...`: the identity images, decrypted;
- `sessions/<session id>/session.json`: the attempt's record, as the session export gives it to
  staff (docs/schemas/session-export.schema.json): answers with marks, events with reviews,
  proctors' actions;
- `sessions/<session id>/media-samples.csv`, `snapshot-<event id>.jpg`,
  `screenshot-<event id>.<webp|jpg>` (the shared screen, when the exam captured it),
  `room-scan.<webm|mp4>`.

JSON keys are camelCase and times ISO 8601 UTC, as in the API. Only this person's data: another
student's pictures never reach it, even from a session of the same exam.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import zipfile
from typing import BinaryIO

from django.utils import timezone
from djangorestframework_camel_case.util import camelize
from rest_framework.utils.encoders import JSONEncoder

from accounts.identity_service import embedding_decrypt
from accounts.models import AuditEntry, IdentityVerification, TokenFamily, User
from exams.models import Accommodation, Enrolment
from procto.crypto import DecryptionError
from procto.encrypted_files import read_encrypted
from proctoring.models import MediaSample, ProctoringEvent
from proctoring.reports.exports import session_export_data
from proctoring.screen import SCREENSHOT, image_type
from sessions.models import Admission, ExamConsent, ExamSession, IdentityCheck, LtiUser, SystemCheck

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
# Every name a member may have; docs/PRIVACY.md lists the same (a test holds them together).
EXPORT_MEMBERS = (
    "README.txt",
    "profile.json",
    "identity/photo.jpg",
    "identity/id-card.jpg",
    "identity/verification-<id>-photo.jpg",
    "identity/verification-<id>-id-card.jpg",
    "identity/verification-<id>-live.jpg",
    "identity/exam-check-<id>.jpg",
    "sessions/<session id>/session.json",
    "sessions/<session id>/media-samples.csv",
    "sessions/<session id>/snapshot-<event id>.jpg",
    "sessions/<session id>/screenshot-<event id>.<webp|jpg>",
    "sessions/<session id>/room-scan.<webm|mp4>",
)
MEDIA_SAMPLE_COLUMNS = ["at", "kind", "face_count", "level_dbfs"]


class _Zip:
    """The ZIP being written: each stored file once, under the first name it is given."""

    def __init__(self, out: BinaryIO) -> None:
        self.archive = zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED)
        self.members: list[str] = []
        self._stored: dict[str, str] = {}

    def text(self, path: str, content: str) -> str:
        self.archive.writestr(path, content)
        self.members.append(path)
        return path

    def json(self, path: str, data: dict) -> str:
        return self.text(path, json.dumps(camelize(data), cls=JSONEncoder, indent=2, ensure_ascii=False))

    def stored(self, name: str, path: str) -> str | None:
        """The decrypted file `name` at `path`; None when it is gone or unreadable (logged)."""
        if not name:
            return None
        if name in self._stored:
            return self._stored[name]
        try:
            data = read_encrypted(name)
        except (FileNotFoundError, DecryptionError) as exc:
            logger.warning("export: %s left out (%s)", name, type(exc).__name__)
            return None
        if path.endswith(".<ext>"):
            path = path.removesuffix("<ext>") + _video_extension(data)
        elif path.endswith(".<image>"):
            path = path.removesuffix("<image>") + ("webp" if image_type(data) == "image/webp" else "jpg")
        # Pictures and videos are compressed already.
        self.archive.writestr(path, data, compress_type=zipfile.ZIP_STORED)
        self.members.append(path)
        self._stored[name] = path
        return path


def _video_extension(data: bytes) -> str:
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    return "mp4" if data[4:8] == b"ftyp" else "bin"


def _identity(archive: _Zip, user: User) -> tuple[dict, list[dict]]:
    account_images = {
        "photo": archive.stored(user.photo, "identity/photo.jpg"),
        "id_card": archive.stored(user.id_card, "identity/id-card.jpg"),
    }
    verifications = []
    for v in IdentityVerification.objects.filter(user=user).order_by("created_at", "pk"):
        prefix = f"identity/verification-{v.pk}"
        verifications.append(
            {
                "id": str(v.pk),
                "created_at": v.created_at,
                "outcome": v.outcome,
                "review": v.review,
                "reviewed_at": v.reviewed_at,
                "review_reason": v.review_reason,
                "photo_id_distance": v.photo_id_distance,
                "photo_live_distance": v.photo_live_distance,
                "threshold": v.threshold,
                "photo": archive.stored(v.photo, f"{prefix}-photo.jpg"),
                "id_card": archive.stored(v.id_card, f"{prefix}-id-card.jpg"),
                "live_capture": archive.stored(v.live_capture, f"{prefix}-live.jpg"),
            }
        )
    return account_images, verifications


def _account(user: User, images: dict) -> dict:
    embedding = None
    if user.face_embedding:
        try:
            embedding = [float(x) for x in embedding_decrypt(user.face_embedding)]
        except DecryptionError:
            logger.warning("export: the face embedding of user %s does not decrypt", user.pk)
    return {
        "id": str(user.pk),
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": user.role,
        "institution": user.institution,
        "time_zone": str(user.time_zone) if user.time_zone else None,
        "is_active": user.is_active,
        "is_verified": user.is_verified,
        "verified_at": user.verified_at,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "face_embedding": embedding,
        **images,
    }


def _session(archive: _Zip, session: ExamSession) -> dict:
    folder = f"sessions/{session.pk}"
    samples = MediaSample.objects.filter(session=session).order_by("at", "pk")
    samples_path = None
    if samples.exists():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(MEDIA_SAMPLE_COLUMNS)
        for sample in samples:
            writer.writerow([sample.at.isoformat(), sample.kind, sample.face_count, sample.level_dbfs])
        samples_path = archive.text(f"{folder}/media-samples.csv", buffer.getvalue())
    pictures = ProctoringEvent.objects.filter(session=session).exclude(snapshot="").order_by("pk")
    snapshots = [
        archive.stored(event.snapshot, f"{folder}/snapshot-{event.pk}.jpg")
        for event in pictures.exclude(type=SCREENSHOT)
    ]
    screenshots = [
        archive.stored(event.snapshot, f"{folder}/screenshot-{event.pk}.<image>")
        for event in pictures.filter(type=SCREENSHOT)
    ]
    return {
        "id": str(session.pk),
        "exam_id": str(session.exam_id),
        "exam_title": session.exam.title,
        "attempt": session.attempt,
        "status": session.status,
        "ip": session.ip,
        "user_agent": session.user_agent,
        "browser_info": session.browser_info,
        "screen_resolution": session.screen_resolution,
        "record": archive.json(f"{folder}/session.json", session_export_data(session)),
        "media_samples": samples_path,
        "snapshots": [path for path in snapshots if path],
        "screenshots": [path for path in screenshots if path],
        "room_scan": archive.stored(session.room_scan, f"{folder}/room-scan.<ext>"),
    }


def _records(archive: _Zip, user: User) -> dict:
    """Everything else held about `user`, row by row."""

    def of_exam(row) -> dict:
        return {"exam_id": str(row.exam_id), "exam_title": row.exam.title}

    return {
        "courses": [
            {
                "id": str(e.course_id),
                "title": e.course.title,
                "code": e.course.code,
                "term": e.course.term,
                "student_number": e.student_number,
                "source": e.source,
                "enrolled_at": e.enrolled_at,
            }
            for e in Enrolment.objects.filter(student=user).select_related("course").order_by("pk")
        ],
        "accommodations": [
            of_exam(a)
            | {
                "extra_minutes": a.extra_minutes,
                "time_multiplier": float(a.time_multiplier),
                "media_exempt": a.media_exempt,
                "media_exempt_reason": a.media_exempt_reason,
            }
            for a in Accommodation.objects.filter(student=user).select_related("exam").order_by("pk")
        ],
        "identity_checks": [
            of_exam(c)
            | {
                "id": str(c.pk),
                "created_at": c.created_at,
                "distance": c.distance,
                "threshold": c.threshold,
                "passed": c.passed,
                "capture": archive.stored(c.capture, f"identity/exam-check-{c.pk}.jpg"),
            }
            for c in IdentityCheck.objects.filter(user=user).select_related("exam").order_by("pk")
        ],
        "system_checks": [
            of_exam(c)
            | {
                "id": str(c.pk),
                "created_at": c.created_at,
                "items": c.items,
                "measurements": c.measurements,
                "required": c.required,
                "passed": c.passed,
            }
            for c in SystemCheck.objects.filter(user=user).select_related("exam").order_by("pk")
        ],
        "consents": [
            of_exam(c) | {"notice_version": c.notice_version, "accepted_at": c.accepted_at}
            for c in ExamConsent.objects.filter(user=user).select_related("exam").order_by("pk")
        ],
        "admissions": [
            of_exam(a)
            | {
                "id": str(a.pk),
                "status": a.status,
                "requested_at": a.requested_at,
                "decided_at": a.decided_at,
                "reason": a.reason,
            }
            for a in Admission.objects.filter(student=user).select_related("exam").order_by("pk")
        ],
        "lms_accounts": [
            {"platform": link.platform.name, "sub": link.sub, "created_at": link.created_at}
            for link in LtiUser.objects.filter(user=user).select_related("platform").order_by("pk")
        ],
        "api_logins": [
            {
                "created_at": f.created_at,
                "last_used_at": f.last_used_at,
                "ip": f.ip,
                "user_agent": f.user_agent,
                "revoked_at": f.revoked_at,
                "revoked_reason": f.revoked_reason,
            }
            for f in TokenFamily.objects.filter(user=user).order_by("created_at")
        ],
        "audit_trail": [
            {"at": e.at, "action": e.action, "ip": e.ip, "user_agent": e.user_agent, "details": e.details}
            for e in AuditEntry.objects.filter(target=user).order_by("at", "pk")
        ],
    }


README = """Everything Procto held about {email} (account {id}) on {at}.

profile.json holds the account and every record about it; each attempt at an exam has a folder
in sessions/ with its record (session.json: answers and marks, proctoring events and their
reviews, the proctors' actions), its webcam pictures, screenshots, room video and measurements. Pictures and
videos are the files Procto stored, decrypted. What each file holds: the school's privacy notice
and Procto's docs/PRIVACY.md.

Files:
{files}
"""


def personal_data_export_write(user: User, out: BinaryIO) -> list[str]:
    """Write `user`'s ZIP into `out` (see the module); returns its member names."""
    user = User.objects.get(pk=user.pk)
    archive = _Zip(out)
    images, verifications = _identity(archive, user)
    sessions = ExamSession.objects.filter(student=user).select_related("exam").order_by("started_at", "pk")
    profile = {
        "schema_version": SCHEMA_VERSION,
        "exported_at": timezone.now(),
        "account": _account(user, images),
        "identity_verifications": verifications,
        **_records(archive, user),
        "sessions": [_session(archive, session) for session in sessions],
    }
    files = ["README.txt", "profile.json", *archive.members]
    profile["files"] = files
    archive.json("profile.json", profile)
    readme = README.format(
        email=user.email, id=user.pk, at=profile["exported_at"].isoformat(), files="\n".join(files)
    )
    archive.text("README.txt", readme)
    archive.archive.close()
    return files
