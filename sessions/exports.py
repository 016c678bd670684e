"""A session's full record for export: JSON (nested) or CSV (one row per event)."""

from __future__ import annotations

import csv
import io

from proctoring.models import ProctoringEvent
from sessions.models import ExamSession
from sessions.serializers import answer_data, session_summary

CSV_COLUMNS = [
    "session_id",
    "student_email",
    "exam_title",
    "event_id",
    "timestamp",
    "type",
    "severity",
    "source",
    "confidence",
    "details",
]


def session_export_data(session: ExamSession) -> dict:
    events = ProctoringEvent.objects.filter(session=session).order_by("occurred_at", "id")
    return session_summary(session) | {
        "answers": [answer_data(a, with_grades=True) for a in session.answers.all()],
        "events": [
            {
                "id": e.pk,
                "timestamp": e.occurred_at,
                "type": e.type,
                "severity": e.severity,
                "source": e.source,
                "confidence": e.confidence,
                "details": e.details,
            }
            for e in events
        ],
    }


def session_export_csv(session: ExamSession) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for event in session.events.order_by("occurred_at", "id"):
        writer.writerow(
            [
                session.pk,
                session.student.email,
                session.exam.title,
                event.pk,
                event.occurred_at.isoformat(),
                event.type,
                event.severity,
                event.source,
                "" if event.confidence is None else event.confidence,
                event.details,
            ]
        )
    return buffer.getvalue()
