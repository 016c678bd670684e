from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from exams.models import Question
from exams.selectors import exam_get_for_user, exam_student_payload
from procto.errors import NotFoundError
from sessions.models import ExamSession


@login_required
@require_GET
def question_image(request: HttpRequest, question_id: int) -> FileResponse:
    """A question's image, only for staff who see the exam or a student sitting (or who sat) it:
    images are part of the exam and must not leak before it opens."""
    question = Question.objects.select_related("exam").filter(pk=question_id).first()
    if question is None or not question.image:
        raise NotFoundError()
    if request.user.role == "student":
        # Questions cannot change once an attempt exists, so any attempt covers this question.
        if not ExamSession.objects.filter(student=request.user, exam_id=question.exam_id).exists():
            raise NotFoundError()
    else:
        exam_get_for_user(user=request.user, exam_id=question.exam_id)  # 404 unless overseen
    response = FileResponse(question.image.open("rb"))
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
@require_GET
def exam_preview(request: HttpRequest, exam_id: int) -> HttpResponse:
    """The exam as a student sees it (same payload, natural order), for its author."""
    exam = exam_get_for_user(user=request.user, exam_id=exam_id, for_edit=True)
    questions = list(exam_student_payload(exam)["questions"].values())
    return render(request, "exams/preview.html", {"exam": exam, "questions": questions})
