"""The per-exam report: every session of one exam with its score, risk and alert counts.

Teachers defend a grade or a cheating decision with it afterwards, so every number here is one
query away from its source: counts are annotations over the session's events, never cached.
Every event is an alert a proctor can review: "open" ones nobody has looked at yet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from accounts.models import User
from accounts.permissions import Can, user_can
from exams.models import Exam
from exams.selectors import exams_visible_to
from procto.errors import NotFoundError
from proctoring.reports.exports import csv_cell, session_questions_text
from sessions.links import report_links
from sessions.models import DELETED_STUDENT, ExamSession
from sessions.outcomes import outcomes_attach
from sessions.selectors import sessions_questions, sessions_watchable_by
from sessions.serializers import session_summary

# ?sort= on the page and the API -> the order of the rows. Ties fall back to the student.
SORTS = {
    "-risk": ["-risk_score", "student__email", "attempt"],
    "risk": ["risk_score", "student__email", "attempt"],
    "student": ["student__email", "attempt"],
    "-started": ["-started_at"],
    "started": ["started_at"],
    # Ungraded sessions last either way (PostgreSQL would put NULL first when descending).
    "-score": [F("final_score").desc(nulls_last=True), "student__email"],
    "score": [F("final_score").asc(nulls_last=True), "student__email"],
}
DEFAULT_SORT = "-risk"
SORT_LABELS = {
    "-risk": gettext_lazy("risk, highest first"),
    "risk": gettext_lazy("risk, lowest first"),
    "student": gettext_lazy("student"),
    "-started": gettext_lazy("start, latest first"),
    "started": gettext_lazy("start, earliest first"),
    "-score": gettext_lazy("score, highest first"),
    "score": gettext_lazy("score, lowest first"),
}

REPORT_CSV_COLUMNS = [
    "session_id",
    "student_email",
    "student_name",
    "attempt",
    "status",
    "started_at",
    "ended_at",
    "duration_seconds",
    "final_score",
    "max_score",
    "risk_score",
    "flagged",
    "event_count",
    "confirmed_alert_count",
    "dismissed_alert_count",
    "open_alert_count",
    "high_severity_count",
    "outcome",
    # The attempt's own questions ("Q1 #12; Q3 #45 (bank Kinematics)"): a bank draw's differ per student.
    "questions",
]


def exam_get_for_report(*, user: User, exam_id) -> Exam:
    """The exam if `user` oversees it (admins all, teachers their own, proctors those assigned);
    404 for anyone else, students included: a report reveals every student's results."""
    if not user_can(user, Can.REVIEW_SESSIONS):
        raise NotFoundError(gettext("No such exam."))
    try:
        return exams_visible_to(user).get(pk=int(exam_id))
    except (Exam.DoesNotExist, TypeError, ValueError) as exc:
        raise NotFoundError(gettext("No such exam.")) from exc


def with_report_counts(sessions: QuerySet[ExamSession]) -> QuerySet[ExamSession]:
    """One query for any number of sessions: the counts are aggregates over a single join."""
    return sessions.annotate(
        event_count=Count("events"),
        confirmed_alert_count=Count("events", filter=Q(events__review_status="confirmed")),
        dismissed_alert_count=Count("events", filter=Q(events__review_status="dismissed")),
        open_alert_count=Count("events", filter=Q(events__review_status="open")),
        high_severity_count=Count("events", filter=Q(events__severity__in=["high", "critical"])),
    )


def exam_report_rows(*, user: User, exam_id, sort: str = DEFAULT_SORT) -> list[ExamSession]:
    """Every session of the exam, whatever its status, annotated with its alert counts and its
    outcome (`.outcome`, sessions.outcomes).

    Raises NotFoundError unless `user` oversees the exam. Three queries whatever the size.
    """
    exam = exam_get_for_report(user=user, exam_id=exam_id)
    sessions = sessions_watchable_by(user).filter(exam=exam)
    return outcomes_attach(with_report_counts(sessions).order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT])))


def finished_session_rows(*, user: User) -> list[ExamSession]:
    """Without an exam: the finished sessions of every exam `user` oversees (the reference's
    /reports list), newest first, with the same counts."""
    sessions = sessions_watchable_by(user).exclude(status=ExamSession.Status.IN_PROGRESS)
    return outcomes_attach(with_report_counts(sessions).order_by("-ended_at")[:5000])


def duration_text(session: ExamSession) -> str:
    """h:mm:ss (or m:ss) from the start to the end, or to now while it runs."""
    seconds = int(((session.ended_at or timezone.now()) - session.started_at).total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def report_row_data(session: ExamSession) -> dict:
    """A report row for the API: the session summary plus risk, flag, counts and links."""
    return session_summary(session) | {
        "risk_score": session.risk_score,
        "flagged": session.flagged,
        "confirmed_alert_count": session.confirmed_alert_count,
        "dismissed_alert_count": session.dismissed_alert_count,
        "open_alert_count": session.open_alert_count,
        "outcome": session.outcome.as_dict(),
        "links": report_links(session),
    }


def report_csv(sessions: Iterable[ExamSession]) -> str:
    """One row per session under a header row of REPORT_CSV_COLUMNS."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(REPORT_CSV_COLUMNS)
    sessions = list(sessions)
    questions = sessions_questions(sessions)  # two queries for all the rows
    for session in sessions:
        summary = session_summary(session)
        student = session.student
        name = f"{student.first_name} {student.last_name}".strip() if student else DELETED_STUDENT
        writer.writerow(
            [
                session.pk,
                csv_cell(student.email if student else ""),
                csv_cell(name),
                session.attempt,
                session.status,
                session.started_at.isoformat(),
                session.ended_at.isoformat() if session.ended_at else "",
                summary["duration_seconds"],
                "" if session.final_score is None else session.final_score,
                session.max_score,
                session.risk_score,
                "yes" if session.flagged else "no",
                session.event_count,
                session.confirmed_alert_count,
                session.dismissed_alert_count,
                session.open_alert_count,
                session.high_severity_count,
                csv_cell(str(session.outcome)),
                csv_cell(session_questions_text(session, questions[session.pk])),
            ]
        )
    return buffer.getvalue()
