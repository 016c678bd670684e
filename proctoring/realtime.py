"""The proctoring app's only use of the channel layer: pushing events to monitor pages."""

from __future__ import annotations

from django.urls import reverse

from procto.channels import group_send_on_commit
from proctoring.models import ProctoringEvent
from proctoring.wording import event_summary, source_text
from sessions.realtime import exam_monitor_groups, monitor_user_group


def monitor_scope_changed(user_ids) -> None:
    """After commit, tell these users' monitor sockets to work out again which exams they watch."""
    groups = [monitor_user_group(pk) for pk in sorted(set(user_ids))]
    if groups:
        group_send_on_commit(groups, {"type": "monitor.scope_changed"}, what="monitor scope change")


def event_message(event: ProctoringEvent) -> dict:
    return {
        "id": event.pk,
        "sessionId": str(event.session_id),
        "type": event.type,
        "severity": event.severity,
        "source": event.source,
        "details": event.details,
        "confidence": event.confidence,
        "timestamp": event.occurred_at.isoformat(),
        "endedAt": event.ended_at.isoformat() if event.ended_at else None,
        "reviewStatus": event.review_status,
        # In words (proctoring.wording), as the review page and the PDF say them.
        "summary": event_summary(event.type, event.details),
        "sourceText": source_text(event.source, event.details),
    }


def _send_on_commit(exam_id: int, message: dict, what: str) -> None:
    group_send_on_commit(exam_monitor_groups(exam_id), message, what=what)


def broadcast_alert(event: ProctoringEvent, *, exam_id: int, update: bool = False) -> None:
    """After commit, send a new (or updated) event to the monitors of its exam and of all exams."""
    kind = "proctoring.alert_updated" if update else "proctoring.alert_raised"
    _send_on_commit(exam_id, {"type": kind, "event": event_message(event)}, f"event {event.pk}")


def broadcast_media(session_id, *, exam_id: int, face_count: int, frame_seq: int) -> None:
    """After commit, tell monitors a new thumbnail and face count arrived for a session.

    The picture itself stays in the cache: monitors fetch it from its URL when they render, so a
    page showing 300 students is not sent 300 JPEGs every two seconds it may not draw.
    """
    message = {
        "type": "proctoring.session_media",
        "session": {
            "id": str(session_id),
            "faceCount": face_count,
            "thumbnailUrl": reverse("session-thumbnail", args=[session_id]) + f"?seq={frame_seq}",
        },
    }
    _send_on_commit(exam_id, message, f"media of {session_id}")


def broadcast_cadence(session_id, *, exam_id: int, frame_interval_ms: int, slowed: bool) -> None:
    """After commit, tell monitors a session's page was slowed down or given its cadence back
    (proctoring.cadence)."""
    message = {
        "type": "proctoring.session_cadence",
        "session": {"id": str(session_id), "frameIntervalMs": frame_interval_ms, "slowed": slowed},
    }
    _send_on_commit(exam_id, message, f"cadence of {session_id}")
