"""A session's full record for export: JSON (nested) or CSV (one row per event).

The JSON is described by docs/schemas/session-export.schema.json (as it leaves the API: inside
the envelope's `data`, keys camelCase); the CSV columns are CSV_COLUMNS, in that order. Both are
documented in docs/PROTOCOL.md: add fields at the end, never rename or reorder them.
"""

from __future__ import annotations

import csv
import io
import json

from django.utils import timezone

from proctoring.models import ProctorAction, ProctoringEvent
from sessions.models import ExamSession
from sessions.outcomes import outcome_of
from sessions.selectors import session_questions
from sessions.serializers import answer_data, session_summary

SCHEMA_VERSION = 1

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
    "ended_at",
    "duration_seconds",
    "received_at",
    "review_status",
    "review_reason",
    "reviewed_by",
    "reviewed_at",
    "has_snapshot",
]

# A spreadsheet runs a cell starting with one of these as a formula: a student named
# "=HYPERLINK(...)" must not run anything on the teacher's machine (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    """Text a person typed (names, reasons, details), made inert for spreadsheets."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def person_data(user) -> dict | None:
    if user is None:
        return None
    return {
        "id": str(user.pk),
        "email": user.email,
        "name": f"{user.first_name} {user.last_name}".strip(),
        "role": user.role,
    }


def session_events(session: ExamSession) -> list[ProctoringEvent]:
    return list(
        ProctoringEvent.objects.filter(session=session)
        .select_related("reviewed_by")
        .order_by("occurred_at", "id")
    )


def session_actions(session: ExamSession) -> list[ProctorAction]:
    return list(
        ProctorAction.objects.filter(session=session).select_related("actor").order_by("created_at", "id")
    )


def event_data(event: ProctoringEvent) -> dict:
    return {
        "id": event.pk,
        "timestamp": event.occurred_at,
        "ended_at": event.ended_at,
        "duration_seconds": event.duration_seconds,
        "received_at": event.received_at,
        "type": event.type,
        "severity": event.severity,
        "source": event.source,
        "confidence": event.confidence,
        "details": event.details,
        "review_status": event.review_status,
        "review_reason": event.review_reason,
        "reviewed_by": person_data(event.reviewed_by),
        "reviewed_at": event.reviewed_at,
        "has_snapshot": bool(event.snapshot),
    }


def action_data(action: ProctorAction) -> dict:
    return {
        "id": action.pk,
        "kind": action.kind,
        "actor": person_data(action.actor),
        "created_at": action.created_at,
        "details": action.details,
    }


def session_questions_data(session: ExamSession, listed: list[dict] | None = None) -> list[dict]:
    """The attempt's own questions in the order the student met them: a bank draw's are the ones
    drawn for this student (`bank` names it; None for the exam's own). `listed`: the session's
    sessions.selectors.session_questions, if the caller has them."""
    return [
        {
            "number": item["number"],
            "question_id": str(item["question"].pk),
            "type": item["question"].type,
            "question_text": item["question"].text,
            "points": float(item["question"].points),
            "bank": item["bank"].title if item["bank"] else None,
        }
        for item in (session_questions(session) if listed is None else listed)
    ]


def session_questions_text(session: ExamSession, listed: list[dict] | None = None) -> str:
    """The same, as one CSV cell: "Q1 #12; Q3 #45 (bank Kinematics)", in the student's order."""
    return "; ".join(
        f"Q{q['number']} #{q['question_id']}" + (f" (bank {q['bank']})" if q["bank"] else "")
        for q in session_questions_data(session, listed)
    )


def session_export_data(session: ExamSession) -> dict:
    """The session summary (top level, as GET /api/exam-sessions/<id>), its answers with grades,
    every event with its review, and every proctor action (the audit trail). Four queries."""
    events = session_events(session)
    return session_summary(session) | {
        "schema_version": SCHEMA_VERSION,
        "exported_at": timezone.now(),
        "risk_score": session.risk_score,
        "flagged": session.flagged,
        "end_reason": session.end_reason,
        "outcome": outcome_of(session).as_dict(),
        "event_count": len(events),
        "high_severity_count": sum(e.severity in ("high", "critical") for e in events),
        "questions": session_questions_data(session),
        "answers": [answer_data(a, with_grades=True) for a in session.answers.all()],
        "events": [event_data(e) for e in events],
        "actions": [action_data(a) for a in session_actions(session)],
    }


def session_export_csv(session: ExamSession) -> str:
    """One row per event under a header row of CSV_COLUMNS; `details` is a JSON object."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for event in session_events(session):
        writer.writerow(
            [
                session.pk,
                csv_cell(session.student.email if session.student else ""),
                csv_cell(session.exam.title),
                event.pk,
                event.occurred_at.isoformat(),
                event.type,
                event.severity,
                event.source,
                "" if event.confidence is None else event.confidence,
                csv_cell(json.dumps(event.details, sort_keys=True, default=str)),
                event.ended_at.isoformat() if event.ended_at else "",
                event.duration_seconds,
                event.received_at.isoformat(),
                event.review_status,
                csv_cell(event.review_reason),
                event.reviewed_by.email if event.reviewed_by else "",
                event.reviewed_at.isoformat() if event.reviewed_at else "",
                "yes" if event.snapshot else "no",
            ]
        )
    return buffer.getvalue()
