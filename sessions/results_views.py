"""Results pages: a student's result of one attempt, and a teacher's release of an exam's results
(the button on the exam report). The rules are sessions.results'."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from procto.errors import ApplicationError
from procto.local_time import local_datetime
from sessions import results


@login_required
@require_GET
def session_result(request: HttpRequest, session_id) -> HttpResponse:
    """The student's own attempt: per-question score and feedback once results are released."""
    results.results_release_due_lazily()
    data = results.session_result_for_student(user=request.user, session_id=session_id)
    return render(request, "sessions/result.html", data)


class ResultsReleaseForm(forms.Form):
    """Release now, at a time (in the teacher's own time zone, as the page shows times), or call
    off a planned release."""

    when = forms.ChoiceField(choices=[("now", "now"), ("later", "later"), ("cancel", "cancel")])
    at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        label=gettext_lazy("Release at"),
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("when") == "later":
            if not data.get("at"):
                self.add_error("at", gettext("Choose the date and time the results are released."))
            elif data["at"] <= timezone.now():
                self.add_error("at", gettext("Choose a time in the future, or release the results now."))
        return data


@login_required
@require_POST
def exam_results_release(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = results.exam_for_results_release(user=request.user, exam_id=exam_id)
    form = ResultsReleaseForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("exam-report", exam_id=exam.pk)
    when, at = form.cleaned_data["when"], form.cleaned_data["at"]
    try:
        if when == "cancel":
            results.exam_results_release_cancel(exam=exam, actor=request.user)
            messages.success(request, gettext("The planned release is called off: the results stay hidden."))
        elif when == "later":
            results.exam_results_release(exam=exam, actor=request.user, at=at)
            messages.success(
                request, f"The results will be released {local_datetime(at)}; students are e-mailed then."
            )
        else:
            results.exam_results_release(exam=exam, actor=request.user)
            messages.success(
                request, gettext("Results released: each student whose attempt is graded is e-mailed once.")
            )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("exam-report", exam_id=exam.pk)
