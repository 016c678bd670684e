from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from exams.selectors import exam_get_for_user, exam_student_payload


@login_required
@require_GET
def exam_preview(request: HttpRequest, exam_id: int) -> HttpResponse:
    """The exam as a student sees it (same payload, natural order), for its author."""
    exam = exam_get_for_user(user=request.user, exam_id=exam_id, for_edit=True)
    questions = list(exam_student_payload(exam)["questions"].values())
    return render(request, "exams/preview.html", {"exam": exam, "questions": questions})
