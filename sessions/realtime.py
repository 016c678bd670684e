"""The sessions app's only use of the channel layer: telling a student's exam page about its
session (ended elsewhere, terminated, a proctor's warning), and the monitors of its exam about
its state (started, risk and flag, ended). The monitor groups are named here, the lowest app
that sends to them; proctoring's monitor socket joins them."""

from __future__ import annotations

from procto.channels import group_send_on_commit


def session_group(session_id) -> str:
    return f"exam-session.{session_id}"


def student_notify(session_id, message: dict) -> None:
    """After commit, send `message` (a protocol message: type, ...) to the session's exam page."""
    group_send_on_commit(
        [session_group(session_id)],
        {"type": "session.notify", "message": message},
        what=f"notice to session {session_id}",
    )


def exam_monitor_group(exam_id: int) -> str:
    return f"monitor.exam.{exam_id}"


ALL_MONITORS_GROUP = "monitor.all"


def monitor_user_group(user_id: int) -> str:
    """The monitor sockets of one user: told when the exams they may watch change."""
    return f"monitor.user.{user_id}"


def exam_monitor_groups(exam_id: int) -> list[str]:
    """Where news of an exam's sessions goes: the monitors of that exam and of all exams."""
    return [exam_monitor_group(exam_id), ALL_MONITORS_GROUP]


def broadcast_session(session) -> None:
    """After commit, send a session's risk and flag to its monitors."""
    message = {
        "type": "proctoring.session_updated",
        "session": {
            "id": str(session.pk),
            "riskScore": session.risk_score,
            "flagged": session.flagged,
            "status": session.status,
        },
    }
    group_send_on_commit(exam_monitor_groups(session.exam_id), message, what=f"session {session.pk}")
