"""A session with one of each kind of proctoring data, stored the way the product stores it: what
the retention, purge, export and account-deletion tests delete or read back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.db import transaction
from django.test import TestCase
from django.utils import timezone

from accounts.identity_service import embedding_encrypt
from accounts.models import IdentityVerification, User
from exams.models import Question
from procto.encrypted_files import store_encrypted
from proctoring.models import MediaSample, ProctoringEvent
from proctoring.services import event_record, session_lock
from proctoring.tests.faces import jpeg_bytes, two_people
from sessions.models import Answer, ExamSession, IdentityCheck, SystemCheck
from sessions.room_scan import room_scan_chunk_add
from sessions.services import exam_session_transition

JPEG = jpeg_bytes(two_people())
WEBM_CHUNKS = [b"\x1a\x45\xdf\xa3" + b"\x00" * 60 + b"my room, left", b" and right"]
WEBM = b"".join(WEBM_CHUNKS)


@dataclass
class Recorded:
    """One session's data, by kind, with the storage names of its files."""

    session: ExamSession
    snapshots: list[str]
    room_scan: str
    identity_capture: str
    events: list[ProctoringEvent] = field(default_factory=list)

    @property
    def files(self) -> list[str]:
        return sorted([*self.snapshots, self.room_scan, self.identity_capture])

    def refresh(self) -> None:
        self.session.refresh_from_db()


def question_for(exam) -> Question:
    question, _ = Question.objects.get_or_create(
        exam=exam,
        text="Closest planet to the Sun?",
        defaults={"type": "MCQ", "options": ["Venus", "Mercury"], "correct_answer": "Mercury", "points": 2},
    )
    return question


def record(session: ExamSession, *, end: bool = True, picture: bytes = JPEG) -> Recorded:
    """Give an in-progress `session` a room scan, two alerts with webcam pictures and one without,
    face-count and audio-level samples, an identity check, a system check and an answer; then
    submit it (graded at once: a choice question), unless `end` is False."""
    now = timezone.now()
    # As each chunk's request commits: the joined chunks' files go then.
    with TestCase.captureOnCommitCallbacks(execute=True):
        for index, chunk in enumerate(WEBM_CHUNKS):
            room_scan_chunk_add(
                session=session,
                index=index,
                data=chunk,
                final=index == len(WEBM_CHUNKS) - 1,
                recording_id="r1",
            )
    events = []
    with transaction.atomic():
        locked = session_lock(session.pk)
        for minutes, type_ in ((1, "multiple-faces"), (2, "face-not-visible")):
            event, _ = event_record(
                session=locked,
                type=type_,
                source="server",
                occurred_at=now + timedelta(minutes=minutes),
                snapshot=picture,
            )
            events.append(event)
        event, _ = event_record(session=locked, type="tab-switch", source="client", occurred_at=now)
        events.append(event)
    for seconds in (0, 5):
        at = now + timedelta(seconds=seconds)
        MediaSample.objects.create(session=session, kind="frame", at=at, face_count=1)
        MediaSample.objects.create(session=session, kind="audio", at=at, level_dbfs=-42.0)
    check = IdentityCheck.objects.create(
        user=session.student,
        exam=session.exam,
        capture=store_encrypted(picture, folder="identity/exam-checks"),
        distance=0.31,
        threshold=0.6,
        passed=True,
    )
    SystemCheck.objects.create(user=session.student, exam=session.exam, items={"camera": True}, passed=True)
    question = question_for(session.exam)
    session.question_order = [question.pk]
    session.save(update_fields=["question_order"])
    Answer.objects.create(session=session, question=question, response="Mercury", client_seq=1)
    if end:
        exam_session_transition(session_id=session.pk, to=ExamSession.Status.SUBMITTED, reason="submitted")
    session.refresh_from_db()
    return Recorded(
        session=session,
        snapshots=sorted(e.snapshot for e in events if e.snapshot),
        room_scan=session.room_scan,
        identity_capture=check.capture,
        events=events,
    )


def verify_identity(user: User, **fields) -> IdentityVerification:
    """A verification as identity_verify leaves it (without the face pool): the user's photo and
    ID card stored encrypted and on the account, with a live capture."""
    names = {
        "photo": store_encrypted(JPEG, folder="identity/photos"),
        "id_card": store_encrypted(JPEG, folder="identity/id-cards"),
        "live_capture": store_encrypted(JPEG, folder="identity/live"),
    }
    User.objects.filter(pk=user.pk).update(
        photo=names["photo"],
        id_card=names["id_card"],
        is_verified=True,
        verified_at=timezone.now(),
        face_embedding=embedding_encrypt(np.linspace(-0.2, 0.2, 128)),
    )
    user.refresh_from_db()
    verification = {
        "photo_id_distance": 0.3,
        "threshold": 0.6,
        "outcome": IdentityVerification.Outcome.MATCH,
        "review": IdentityVerification.Review.AUTOMATIC,
    }
    return IdentityVerification.objects.create(user=user, **(verification | names | fields))
