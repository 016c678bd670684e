from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods
from djangorestframework_camel_case.util import camelize

from exams import services
from exams.errors import JoinCodeLocked, JoinCodeUnknown
from exams.forms import JoinCodeForm
from exams.models import Exam
from exams.selectors import exam_get_for_user, exam_preview_questions


@login_required
@require_GET
def exam_preview(request: HttpRequest, exam_id: int) -> HttpResponse:
    """The exam page in preview mode, for its authors: the student payload (natural order) built
    by the exam page's own script; no session, no proctoring, nothing saved."""
    exam = exam_get_for_user(user=request.user, exam_id=exam_id, for_edit=True)
    questions = exam_preview_questions(exam)
    bootstrap = {
        "questions": camelize(questions),
        "fullscreen_required": exam.proctoring_enabled and exam.security_level != Exam.SecurityLevel.LOW,
    }
    context = {"exam": exam, "questions": questions, "bootstrap": camelize(bootstrap)}
    return render(request, "exams/preview.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def course_join(request: HttpRequest) -> HttpResponse:
    """A student enters a course's join code and is enrolled (staff: refused by the service)."""
    form = JoinCodeForm(request.POST or None)
    refusal = None
    if request.method == "POST" and form.is_valid():
        try:
            course, created = services.course_join(
                student=request.user, code=form.cleaned_data["code"], address=request.META.get("REMOTE_ADDR")
            )
        except (JoinCodeUnknown, JoinCodeLocked) as exc:
            form.add_error("code", exc.message)
            refusal = exc
        else:
            if created:
                messages.success(request, gettext("You joined %(course)s.") % {"course": course})
            else:
                messages.success(request, gettext("You are already in %(course)s.") % {"course": course})
            return redirect("home")
    response = render(
        request, "exams/course_join.html", {"form": form}, status=refusal.status if refusal else 200
    )
    if refusal and refusal.retry_after:
        response["Retry-After"] = str(refusal.retry_after)
    return response
