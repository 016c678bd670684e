"""The proctoring app's only use of the channel layer: pushing events to monitor pages."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from proctoring.models import ProctoringEvent

logger = logging.getLogger(__name__)


def exam_monitor_group(exam_id: int) -> str:
    return f"monitor.exam.{exam_id}"


def event_message(event: ProctoringEvent) -> dict:
    return {
        "id": event.pk,
        "session_id": str(event.session_id),
        "type": event.type,
        "severity": event.severity,
        "source": event.source,
        "details": event.details,
        "confidence": event.confidence,
        "timestamp": event.occurred_at.isoformat(),
    }


def broadcast_alert(event: ProctoringEvent, *, exam_id: int) -> None:
    """After commit, send the event to every monitor page watching its exam."""

    def send() -> None:
        try:
            async_to_sync(get_channel_layer().group_send)(
                exam_monitor_group(exam_id),
                {"type": "proctoring.alert_raised", "event": event_message(event)},
            )
        except Exception:  # the event is stored; monitors catch up from the database
            logger.exception("could not broadcast event %s", event.pk)

    transaction.on_commit(send)
