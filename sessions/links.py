"""Where staff find a session's pages and exports, by URL name only: the admin's session list
(sessions) and the reports (proctoring) both link to them, and neither imports the other's views."""

from __future__ import annotations

from django.urls import reverse

from sessions.models import ExamSession


def report_links(session: ExamSession) -> dict[str, str]:
    return {
        "detail": reverse("proctoring-session", args=[session.pk]),
        "pdf": reverse("session-report-pdf", args=[session.pk]),
        "csv": reverse("api-session-export", args=[session.pk]) + "?format=csv",
        "json": reverse("api-session-export", args=[session.pk]) + "?format=json",
    }
