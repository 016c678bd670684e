"""Report pages for staff: the per-exam report table and one session's PDF."""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from procto.errors import NotFoundError
from proctoring.actions import session_export_audit
from proctoring.reports.exam_report import (
    DEFAULT_SORT,
    SORT_LABELS,
    SORTS,
    duration_text,
    exam_get_for_report,
    exam_report_rows,
    report_links,
)
from proctoring.reports.pdf import session_report_pdf as render_session_pdf
from sessions.lti.grades import lti_scores_panel, lti_scores_post_due_lazily
from sessions.results import results_release_panel
from sessions.selectors import exam_ungraded_count, sessions_watchable_by

logger = logging.getLogger(__name__)


@login_required
@require_GET
def exam_report(request: HttpRequest, exam_id: int) -> HttpResponse:
    """Every session of one exam: score, risk, alerts, with links to each session and its PDF."""
    exam = exam_get_for_report(user=request.user, exam_id=exam_id)
    lti_scores_post_due_lazily()  # embedded mode: scores the LMS did not take yet, when due
    sort = request.GET.get("sort", DEFAULT_SORT)
    sort = sort if sort in SORTS else DEFAULT_SORT
    rows = [
        {"session": s, "links": report_links(s), "duration": duration_text(s)}
        for s in exam_report_rows(user=request.user, exam_id=exam.pk, sort=sort)
    ]
    export = reverse("api-session-reports") + f"?examId={exam.pk}&format="
    context = {
        "exam": exam,
        "rows": rows,
        "sort": sort,
        "sort_label": SORT_LABELS[sort],
        "csv_url": export + "csv",
        "json_url": export + "json",
        # Answers waiting for a grader (None: this viewer does not grade, and sees no grading links).
        "ungraded": exam_ungraded_count(user=request.user, exam=exam),
        # Released to students or not, and the release buttons for those who may.
        "results": results_release_panel(user=request.user, exam=exam),
        # Scores on their way to the LMS gradebook (None: no LMS link grades it, or not a teacher).
        "lti_scores": lti_scores_panel(user=request.user, exam=exam),
    }
    return render(request, "sessions/exam_report.html", context)


@login_required
@require_GET
def session_report_pdf(request: HttpRequest, session_id) -> HttpResponse:
    """One session as a PDF, for the staff who watch it; 404 for everyone else."""
    session = sessions_watchable_by(request.user).filter(pk=session_id).first()
    if session is None:
        raise NotFoundError(gettext("No such exam session."))
    pdf = render_session_pdf(session=session, generated_by=request.user)
    # Who took a copy of a student's record, and when: the PDF holds their webcam snapshots.
    session_export_audit(actor=request.user, session=session, fmt="pdf")
    logger.info("user %s (%s) exported session %s as PDF", request.user.pk, request.user.email, session.pk)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="session-{session.pk}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
