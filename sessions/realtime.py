"""The sessions app's only use of the channel layer: telling a student's exam page about its
session (ended elsewhere, terminated, a proctor's warning)."""

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
