from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from exams.selectors import user_may_edit
from procto.crypto import DecryptionError
from procto.encrypted_files import read_encrypted
from procto.errors import ForbiddenError, NotFoundError
from sessions import grading, services
from sessions.admissions import admission_get_for_watcher
from sessions.errors import InvalidAnswer
from sessions.outcomes import outcome_of
from sessions.selectors import exam_session_get_for_user, question_image_get_for_user

logger = logging.getLogger(__name__)


@login_required
@require_http_methods(["GET", "POST"])
def grade_session(request: HttpRequest, session_id: str) -> HttpResponse:
    """The teacher's grading page: a score and feedback for each open answer of one session."""
    session = exam_session_get_for_user(user=request.user, session_id=session_id)
    if not user_may_edit(request.user, session.exam):
        raise ForbiddenError("Only the exam's author or an administrator grades it.")
    answers = [
        a for a in session.answers.select_related("question") if not grading.is_auto_graded(a.question)
    ]
    if request.method == "POST":
        errors = 0
        for answer in answers:
            raw = request.POST.get(f"score-{answer.pk}", "").strip()
            if raw == "":
                continue
            try:
                services.answer_grade(
                    answer=answer,
                    grader=request.user,
                    score=Decimal(raw),
                    feedback=request.POST.get(f"feedback-{answer.pk}", ""),
                )
            except (InvalidOperation, InvalidAnswer):
                errors += 1
                messages.error(
                    request,
                    f"Question {answer.question.order}: give a score from 0 to {answer.question.points}.",
                )
        if not errors:
            messages.success(request, "Grades saved.")
        return redirect("grade-session", session_id=session.pk)
    session.refresh_from_db()
    context = {"session": session, "outcome": outcome_of(session), "answers": answers}
    return render(request, "sessions/grade.html", context)


@login_required
@require_GET
def admission_identity_capture(request: HttpRequest, admission_id: int) -> HttpResponse:
    """The webcam capture of a waiting student's identity check, for the staff who watch the exam:
    the monitor's admission panel shows it beside the profile photo."""
    admission = admission_get_for_watcher(user=request.user, admission_id=admission_id)
    if admission.identity_check is None:
        raise NotFoundError("This request has no identity check.")
    try:
        jpeg = read_encrypted(admission.identity_check.capture)
    except (FileNotFoundError, DecryptionError) as exc:
        logger.warning("admission %s: identity capture unreadable: %s", admission.pk, exc)
        raise NotFoundError("The capture is no longer stored.") from exc
    response = HttpResponse(jpeg, content_type="image/jpeg")
    # A decrypted face must not linger in shared or browser caches.
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def question_image(request: HttpRequest, question_id: int) -> FileResponse:
    question = question_image_get_for_user(user=request.user, question_id=question_id)
    response = FileResponse(question.image.open("rb"))
    response["Cache-Control"] = "private, max-age=300"
    return response
