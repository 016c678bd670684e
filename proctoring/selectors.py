"""Reads for the proctors' live monitor: one card per session in progress, built in a fixed
handful of queries however many students are sitting (the page is made for ~300 at once)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from django.conf import settings
from django.db.models import Count, F, Max, Q, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from accounts.permissions import Can, user_can
from exams.models import Accommodation, Exam
from exams.selectors import exam_get_for_user, exams_visible_to
from procto.errors import ApplicationError, ForbiddenError, NotFoundError
from proctoring.conditions import Severity, label_of, monitor_conditions, severity_rank
from proctoring.models import MediaSample, ProctorAction, ProctoringEvent
from proctoring.realtime import event_message
from proctoring.screen import SCREENSHOT
from proctoring.stream_state import MEDIA_PUSH_SECONDS, monitor_stream_state
from proctoring.wording import REVIEW_LABELS, action_text, review_label
from sessions.models import ExamSession
from sessions.outcomes import OUTCOME_LABELS, status_labels
from sessions.readiness import FRAME_INTERVAL_MS
from sessions.selectors import sessions_live_for, sessions_watchable_by
from sessions.serializers import session_summary, time_remaining_seconds

MAX_CARDS = 1000
RECENT_ALERTS = 50
OPEN_IDS_PER_SESSION = 100
HIGH = severity_rank(Severity.HIGH)  # high and critical alerts make a card urgent
# Nothing from a student's camera or microphone for this long and the card says offline, even
# before the heartbeat check (every 10 s) has raised stream-lost.
OFFLINE_AFTER_SECONDS = 60
_ANY_UUID = uuid.UUID(int=0)


def exam_filter_get(*, user: User, exam_id: str | None) -> Exam | None:
    """The exam a monitor is narrowed to (`?exam=` / `?examId=`): None for all the user watches;
    400 if the value is not a number, 404 if the user does not watch that exam."""
    if exam_id in (None, ""):
        return None
    if not str(exam_id).isdigit():
        raise ApplicationError(gettext("exam must be an exam id (a number)."), code="VALIDATION_ERROR")
    return exam_get_for_user(user=user, exam_id=exam_id)


def monitor_exams_for(user: User) -> list[Exam]:
    """Exams worth offering in the monitor's filter: open now, or with a session in progress."""
    now = timezone.now()
    return list(
        exams_visible_to(user)
        .filter(Q(start_time__lte=now, end_time__gt=now) | Q(sessions__status=ExamSession.Status.IN_PROGRESS))
        .distinct()
        .order_by("title", "pk")[:200]
    )


def live_windows(security_level: str) -> tuple[float, float, float]:
    """(cadence, live window, offline after) in seconds for an exam's security level.

    The page only hears of media through `media` messages, which the workers send when the face
    count changes or every MEDIA_PUSH_SECONDS: "live" must allow one push interval plus a frame,
    or every quiet student would blink to "stale" between pushes.
    """
    cadence = FRAME_INTERVAL_MS[security_level] / 1000
    live = max(2 * cadence, MEDIA_PUSH_SECONDS + cadence)
    lost_after = settings.PROCTORING_POLICY[security_level]["stream_lost_cadences"] * cadence
    return cadence, live, max(OFFLINE_AFTER_SECONDS, live + lost_after)


def connection_state(
    *,
    proctored: bool,
    last_media_at: float | None,
    started_at: float,
    unmonitored: bool,
    now: float,
    level: str,
) -> str:
    """live / stale / offline from when media last arrived; "exempt" for a session without media."""
    if not proctored:
        return "exempt"
    if unmonitored:
        return "offline"
    _, live, offline_after = live_windows(level)
    # No media yet: the student is still turning the camera on, until that takes too long.
    age = now - (last_media_at if last_media_at is not None else started_at)
    if last_media_at is not None and age <= live:
        return "live"
    return "stale" if age <= offline_after else "offline"


def _open_alerts(session_ids: list) -> dict:
    """Per session: open alerts counted by (type, severity), the ids of the newest of them, and the
    session's highest event id. Two queries for all sessions.

    With the ids the page can tell, when an alert is confirmed or dismissed, whether it was one it
    counted; past OPEN_IDS_PER_SESSION (a student spamming copy events) the counts stay exact and
    the page refreshes them from here now and then.
    """
    found: dict = defaultdict(lambda: {"alerts": [], "ids": [], "last_event_id": 0})
    rows = (
        ProctoringEvent.objects.filter(session_id__in=session_ids)
        .values("session_id", "type", "severity")
        .annotate(open=Count("id", filter=Q(review_status="open")), last_id=Max("id"))
        .order_by()
    )
    for row in rows:
        entry = found[row["session_id"]]
        entry["last_event_id"] = max(entry["last_event_id"], row["last_id"])
        if row["open"]:
            entry["alerts"].append(
                {
                    "type": row["type"],
                    "label": label_of(row["type"]),
                    "severity": row["severity"],
                    "count": row["open"],
                }
            )
    newest_open = (
        ProctoringEvent.objects.filter(session_id__in=session_ids, review_status="open")
        .annotate(rank=Window(RowNumber(), partition_by=F("session_id"), order_by=F("id").desc()))
        .filter(rank__lte=OPEN_IDS_PER_SESSION)
        .values_list("session_id", "id", "type", "severity")
    )
    for session_id, event_id, type_, severity in newest_open:
        found[session_id]["ids"].append([event_id, type_, severity])
    return found


def _url_pattern(name: str, example) -> str:
    """A route's path with `{id}` in place of its one argument (one reverse for many rows)."""
    return reverse(name, args=[example]).replace(str(example), "{id}")


def _card(session: ExamSession, alerts: dict, stream: dict, now: float, session_page: str) -> dict:
    level = session.exam.security_level
    proctored = session.exam.proctoring_enabled and not session.media_exempt
    cadence, live, offline_after = live_windows(level)
    times = [t for t in (stream["frame:last_at"], stream["audio:last_at"]) if t]
    last_media_at = max(times) if times else None
    metrics = stream["metrics"] or {}
    frame_seq = stream["frame:last_seq"]
    open_alerts = sorted(
        alerts["alerts"], key=lambda a: (-severity_rank(a["severity"]), -a["count"], a["type"])
    )
    thumbnail = reverse("session-thumbnail", args=[session.pk]) + f"?seq={frame_seq}" if frame_seq else None
    return session_summary(session) | {
        "student_name": session.student_name,
        "risk_score": session.risk_score,
        "flagged": session.flagged,
        "security_level": level,
        "proctored": proctored,
        "cadence_seconds": cadence,
        "live_window_seconds": live,
        "offline_after_seconds": offline_after,
        "last_media_at": last_media_at,
        "face_count": metrics.get("faceCount"),
        "thumbnail_url": thumbnail,
        "unmonitored": bool(stream["unmonitored"]) and proctored,
        # Frames come less often: the overload governor slowed this session (proctoring.cadence).
        "slowed_frame_interval_ms": stream["cadence"] if proctored else None,
        "connection": connection_state(
            proctored=proctored,
            last_media_at=last_media_at,
            started_at=session.started_at.timestamp(),
            unmonitored=bool(stream["unmonitored"]),
            now=now,
            level=level,
        ),
        "open_alerts": open_alerts,
        "open_alert_count": sum(a["count"] for a in open_alerts),
        "open_high_count": sum(a["count"] for a in open_alerts if severity_rank(a["severity"]) >= HIGH),
        "open_alert_ids": sorted(alerts["ids"], reverse=True),
        "last_event_id": alerts["last_event_id"],
        "detail_url": session_page.format(id=session.pk),
    }


def live_session_cards(*, user: User, exam_id=None, now: datetime | None = None) -> list[dict]:
    """The monitor's cards: every session in progress that `user` watches (optionally of one
    exam), with risk, alerts still to review, and the stream's state. Three queries and one
    cache read, whatever the number of sessions."""
    sessions = list(sessions_live_for(user=user, exam_id=exam_id)[:MAX_CARDS])
    ids = [s.pk for s in sessions]
    alerts = _open_alerts(ids) if ids else {}
    stream = monitor_stream_state(ids)
    at = (now or timezone.now()).timestamp()
    empty = {"alerts": [], "ids": [], "last_event_id": 0}
    session_page = _url_pattern("proctoring-session", _ANY_UUID)
    return [_card(s, alerts.get(s.pk, empty), stream[s.pk], at, session_page) for s in sessions]


def recent_alerts_for(*, user: User, exam_id=None, limit: int = RECENT_ALERTS) -> list[dict]:
    """The newest alerts of the sessions in progress `user` watches, newest first, as the monitor
    socket sends them plus the student's name (for the feed before the first live message)."""
    live = sessions_live_for(user=user, exam_id=exam_id).values("pk")
    events = (
        ProctoringEvent.objects.filter(session__in=live)
        .exclude(review_status="none")  # records, not alerts: never sent to monitors
        .select_related("session__student")
        .order_by("-pk")[:limit]
    )
    return [event_message(e) | {"studentName": e.session.student_name} for e in events]


def last_event_id() -> int:
    """The newest event id anywhere: a page asks the socket for what came after it."""
    return ProctoringEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def monitor_urls() -> dict:
    """URL patterns the page's script fills in (`{id}`), so no path is spelled twice."""
    return {
        "live": reverse("api-session-live"),
        "socket": "/ws/monitor/",
        "session": _url_pattern("proctoring-session", _ANY_UUID),
        "actions": _url_pattern("api-session-actions", _ANY_UUID),
        "review": _url_pattern("api-event-review", 987654321),
        "thumbnail": _url_pattern("session-thumbnail", _ANY_UUID),
    }


# --- the session review page -----------------------------------------------------------------------

REVIEW_EVENT_LIMIT = 2000
MEDIA_SERIES_LIMIT = 5000  # per kind: a five-hour exam sampled every 10 s is 1,800 points
AUDIT_LIMIT = 500


def _reviewer_required(user: User) -> None:
    if not user_can(user, Can.MONITOR_SESSIONS):
        raise ForbiddenError(gettext("Only proctors, teachers and administrators review exam sessions."))


def session_review_get(*, user: User, session_id) -> ExamSession:
    """A session for its review page: 403 for a role that reviews nothing (students), 404 unless
    `user` oversees the session's exam (sessions_watchable_by)."""
    _reviewer_required(user)
    session = sessions_watchable_by(user).filter(pk=session_id).first()
    if session is None:
        raise NotFoundError(gettext("No such exam session."))
    return session


def event_snapshot_name_get(*, user: User, event_id: int) -> str:
    """The encrypted storage name of an event's snapshot, for the staff who oversee its session."""
    _reviewer_required(user)
    name = (
        ProctoringEvent.objects.filter(pk=event_id, session__in=sessions_watchable_by(user).values("pk"))
        .values_list("snapshot", flat=True)
        .first()
    )
    if not name:
        raise NotFoundError(gettext("This alert has no snapshot."))
    return name


def session_room_scan_name_get(*, user: User, session_id) -> str:
    session = session_review_get(user=user, session_id=session_id)
    if not session.room_scan:
        raise NotFoundError(gettext("No room scan was recorded in this session."))
    return session.room_scan


def session_media_series(session: ExamSession) -> dict:
    """Faces on camera and microphone level over time: {"faces": [[iso, n]], "audio": [[iso, dBFS]]}."""
    samples = MediaSample.objects.filter(session=session).order_by("at", "id")
    faces = samples.filter(kind=MediaSample.Kind.FRAME).values_list("at", "face_count")
    audio = samples.filter(kind=MediaSample.Kind.AUDIO).values_list("at", "level_dbfs")
    return {
        "faces": [[at.isoformat(), n] for at, n in faces[:MEDIA_SERIES_LIMIT]],
        "audio": [[at.isoformat(), level] for at, level in audio[:MEDIA_SERIES_LIMIT]],
    }


def session_answer_progress(session: ExamSession) -> dict:
    """Questions answered (a saved, non-empty response) out of the attempt's questions, and when
    the student last saved."""
    empty = Q(response__isnull=True) | Q(response="") | Q(response=[])
    counts = session.answers.aggregate(answered=Count("pk", filter=~empty), last_saved_at=Max("updated_at"))
    total = len(session.question_order) or session.answers.count()
    answered = counts["answered"] or 0
    return {
        "answered": answered,
        "total": total,
        "percent": round(100 * answered / total) if total else 0,
        "last_saved_at": counts["last_saved_at"],
    }


def _clock_text(seconds: float) -> str:
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _length_text(seconds: float) -> str:
    """As the page's script writes it (static/js/review/format.js formatLength)."""
    whole = round(seconds)
    if whole <= 0:
        return ""
    return f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60:02d} s"


def event_review_row(event: ProctoringEvent) -> dict:
    """An event as the review page lists it and its script receives it (event_message + review)."""
    return event_message(event) | {
        "label": label_of(event.type),
        "at": event.occurred_at,
        "offsetText": _clock_text((event.occurred_at - event.session.started_at).total_seconds()),
        "durationText": _length_text(event.duration_seconds),
        "confidenceText": "" if event.confidence is None else f"{round(event.confidence * 100)}%",
        "durationSeconds": round(event.duration_seconds, 1),
        "reviewText": review_label(event.review_status),
        "reviewedBy": event.reviewed_by.display_name if event.reviewed_by else None,
        "reviewedAt": event.reviewed_at.isoformat() if event.reviewed_at else None,
        "reviewReason": event.review_reason,
        "snapshotUrl": reverse("event-snapshot", args=[event.pk]) if event.snapshot else None,
    }


def action_entry(action: ProctorAction) -> dict:
    """A line of the audit trail: who, when, and what in words."""
    title, text = action_text(action.kind, action.details, fallback=action.get_kind_display())
    return {
        "id": action.pk,
        "kind": action.kind,
        "title": title,
        "text": text,
        "actor": action.actor.display_name,
        "createdAt": action.created_at,
    }


def session_review_data(session: ExamSession) -> dict:
    """Everything the review page shows of one session, in a fixed number of queries."""
    events = list(
        ProctoringEvent.objects.filter(session=session)
        .select_related("reviewed_by")
        .order_by("occurred_at", "id")[:REVIEW_EVENT_LIMIT]
    )
    actions = ProctorAction.objects.filter(session=session).select_related("actor")
    for event in events:
        event.session = session  # the row's own session: no join, no query per event
    rows = [event_review_row(e) for e in events]
    accommodation = Accommodation.objects.filter(exam=session.exam_id, student=session.student_id).first()
    return {
        "events": rows,
        "events_truncated": len(events) == REVIEW_EVENT_LIMIT,
        "event_types": sorted({(row["type"], row["label"]) for row in rows}, key=lambda t: t[1]),
        # Webcam frames kept with alerts; the shared screen's pictures have their own gallery.
        "snapshots": [row for row in rows if row["snapshotUrl"] and row["type"] != SCREENSHOT],
        "screenshots": [row for row in rows if row["snapshotUrl"] and row["type"] == SCREENSHOT],
        "captures_screen": session.exam.captures_screen,
        "series": session_media_series(session),
        "progress": session_answer_progress(session),
        "actions": [action_entry(a) for a in actions.order_by("-created_at", "-id")[:AUDIT_LIMIT]],
        "accommodation": accommodation,
    }


def session_review_urls(session: ExamSession) -> dict:
    """Where the review page's links and script go; `{id}` stands for an event id."""
    export = reverse("api-session-export", args=[session.pk])
    return {
        "actions": reverse("api-session-actions", args=[session.pk]),
        "review": reverse("api-event-review", args=[987654321]).replace("987654321", "{id}"),
        "snapshot": reverse("event-snapshot", args=[987654321]).replace("987654321", "{id}"),
        "socket": f"/ws/monitor/?exam={session.exam_id}",
        "roomScan": reverse("session-room-scan-video", args=[session.pk]) if session.room_scan else None,
        "pdf": reverse("session-report-pdf", args=[session.pk]),
        "csv": f"{export}?format=csv",
        "json": f"{export}?format=json",
    }


def session_review_bootstrap(session: ExamSession, data: dict, *, viewer: User, last_event_id: int) -> dict:
    """What the review page's script starts from (json_script; datetimes become ISO strings)."""
    return {
        "sessionId": str(session.pk),
        "examId": session.exam_id,
        "status": session.status,
        # Live, only the status is known: "Ended early" until the page is loaded again, except the
        # ending this page's own proctor makes ("Ended by proctor").
        "statusLabels": status_labels(),
        "reviewLabels": {status: str(label) for status, label in REVIEW_LABELS.items()},
        # Each condition's name (for the rows and chart lanes that arrive live) and the reasons
        # offered when dismissing one, from the registry (proctoring/conditions.py).
        "conditions": monitor_conditions(),
        "outcomeLabels": {code: str(label) for code, label in OUTCOME_LABELS.items()},
        "startedAt": session.started_at,
        "deadline": session.deadline,
        "endedAt": session.ended_at,
        "timeRemaining": time_remaining_seconds(session) if session.is_in_progress else None,
        "riskScore": session.risk_score,
        "flagged": session.flagged,
        "events": data["events"],
        "series": data["series"],
        "lastEventId": last_event_id,
        "me": viewer.display_name,
        "urls": session_review_urls(session),
    }
