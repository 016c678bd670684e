"""A person's proctoring data above accounts, for accounts.personal_data's hook (installed by
proctoring.apps): what stops a purge, and the purge itself. The export is
proctoring.reports.personal_export.

A purge deletes what the proctoring recorded of the student in every session: the webcam
pictures and face counts, the screenshots of their screen, the microphone levels, the room
scans, the pre-exam identity and system checks, the events (alerts and browser events, with
their reviews), and the browser and address the sessions were taken from; the risk score goes
back to 0. It keeps the attempts with
their status, times, answers, marks and final score, the consents they gave, the admissions
proctors decided and the proctors' own actions (docs/PRIVACY.md).
"""

from __future__ import annotations

from collections import Counter

from accounts.models import User
from proctoring.models import ProctoringEvent
from proctoring.retention import (
    audio_delete,
    frames_delete,
    identity_checks_delete,
    pre_exam_room_scans_delete,
    room_scans_delete,
    screenshots_delete,
)
from sessions.models import ExamSession, IdentityCheck, PreExamRoomScan, SystemCheck


def student_data_blockers(user: User) -> list[str]:
    """A session in progress: its media are still arriving, and its proctor is watching."""
    sitting = ExamSession.objects.filter(student=user, status=ExamSession.Status.IN_PROGRESS).select_related(
        "exam"
    )
    return [
        f"{user.email} is sitting {session.exam.title} (attempt {session.attempt}): end the session or let "
        "it finish first."
        for session in sitting
    ]


def student_data_purge(user: User) -> Counter:
    """Delete the proctoring data of all `user`'s sessions (see the module), files first.
    Precondition: no blockers (student_data_blockers)."""
    sessions = ExamSession.objects.filter(student=user)
    deleted = frames_delete(sessions) + screenshots_delete(sessions) + audio_delete(sessions)
    deleted += room_scans_delete(sessions)
    deleted += pre_exam_room_scans_delete(PreExamRoomScan.objects.filter(user=user))
    deleted += identity_checks_delete(IdentityCheck.objects.filter(user=user))
    deleted["system_checks"], _ = SystemCheck.objects.filter(user=user).delete()
    deleted["events"], _ = ProctoringEvent.objects.filter(session__in=sessions).delete()
    sessions.update(
        ip=None, user_agent="", browser_info={}, screen_resolution="", risk_score=0, flagged=False
    )
    return +deleted  # without the zeros
