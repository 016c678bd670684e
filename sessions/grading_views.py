"""The grading pages, for an exam's teachers and admins (sessions.selectors decides who):

- the overview of one exam (what waits, per question and per student), linked from its report;
- a question's queue: its answers across all students, one at a time, with "next ungraded";
- a student's page: all their open answers at once (the per-student queue);
- a choice question's answer key, whose change regrades every session.

Shortcut keys are documented on each page and handled by static/js/grading.js.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods

from sessions import services
from sessions.forms import AnswerGradeForm, AnswerKeyForm
from sessions.lti.grades import lti_scores_post_due_lazily
from sessions.outcomes import outcome_of
from sessions.selectors import (
    exam_get_for_grading,
    exam_grading_overview,
    exam_session_get_for_grading,
    question_choice_counts,
    question_get_for_grading,
    question_grading_queue,
    question_next_to_grade,
    question_numbers,
    session_grading_items,
    session_next_to_grade,
)


def _posted(request: HttpRequest):
    # Not `request.POST or None`: an empty form (no key ticked) is a post too, and must say so.
    return request.POST if request.method == "POST" else None


def queue_url(question, answer=None) -> str:
    url = reverse("grade-question", args=[question.exam_id, question.pk])
    return f"{url}?answer={answer.pk}" if answer is not None else url


def queue_links(queue) -> dict[str, str | None]:
    """Where the queue page's buttons and shortcut keys lead (None: nowhere to go)."""
    answers = {
        "here": queue.current,
        "next_ungraded": queue.next_ungraded,
        "previous": queue.previous,
        "next": queue.next,
    }
    return {name: queue_url(queue.question, a) if a is not None else None for name, a in answers.items()}


@login_required
@require_GET
def grading_overview(request: HttpRequest, exam_id: int) -> HttpResponse:
    """One exam's grading: per question ("grade Q3 for everyone") and per student."""
    exam = exam_get_for_grading(user=request.user, exam_id=exam_id)
    lti_scores_post_due_lazily()  # embedded mode: scores the LMS did not take yet, when due
    return render(
        request, "sessions/grading.html", {"exam": exam, "overview": exam_grading_overview(exam=exam)}
    )


@login_required
@require_http_methods(["GET", "POST"])
def grade_question(request: HttpRequest, exam_id: int, question_id: int) -> HttpResponse:
    """One open question for everyone, one answer at a time; saving moves to the next ungraded."""
    exam = exam_get_for_grading(user=request.user, exam_id=exam_id)
    question = question_get_for_grading(exam=exam, question_id=question_id)
    queue = question_grading_queue(exam=exam, question=question, answer_id=request.GET.get("answer"))
    form = AnswerGradeForm(_posted(request), answer=queue.current) if queue.current else None
    if request.method == "POST" and form is not None and form.is_valid():
        if form.to_save:
            data = form.cleaned_data
            services.answer_grade(
                answer=form.answer, grader=request.user, score=data["score"], feedback=data["feedback"]
            )
            saved = {"score": data["score"], "name": form.answer.session.student_name}
            messages.success(request, gettext("Saved %(score)s for %(name)s.") % saved)
        return redirect(queue_url(question, queue.next_ungraded))
    following = None if queue.current else question_next_to_grade(exam=exam, after=question)
    context = {
        "exam": exam,
        "queue": queue,
        "form": form,
        "next_question": following,
        "links": queue_links(queue),
    }
    return render(request, "sessions/grade_question.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def grade_session(request: HttpRequest, session_id: str) -> HttpResponse:
    """One student's open answers on one page (the per-student queue), all saved or none."""
    session = exam_session_get_for_grading(user=request.user, session_id=session_id)
    items, blank = session_grading_items(session=session)
    forms = [AnswerGradeForm(_posted(request), answer=item.answer) for item in items]
    if request.method == "POST" and all(form.is_valid() for form in forms):
        grades = [
            services.AnswerGrade(form.answer, form.cleaned_data["score"], form.cleaned_data["feedback"])
            for form in forms
            if form.to_save
        ]
        saved = services.exam_session_answers_grade(session=session, grader=request.user, grades=grades)
        messages.success(
            request, f"Saved {saved} grade{'s' if saved != 1 else ''}." if saved else "Nothing changed."
        )
        following = session_next_to_grade(session=session) if "next" in request.POST else None
        return redirect("grade-session", session_id=(following or session).pk)
    rows = list(zip(items, forms, strict=True))
    context = {
        "session": session,
        "outcome": outcome_of(session),
        "rows": rows,
        "invalid": [(item, form) for item, form in rows if form.is_bound and form.errors],
        "blank": blank,
        "next_session": session_next_to_grade(session=session),
    }
    return render(request, "sessions/grade.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def answer_key(request: HttpRequest, exam_id: int, question_id: int) -> HttpResponse:
    """A choice question's answer key; changing it regrades every finished session (audited)."""
    exam = exam_get_for_grading(user=request.user, exam_id=exam_id)
    question = question_get_for_grading(exam=exam, question_id=question_id)
    counts, answered = question_choice_counts(exam=exam, question=question)
    form = AnswerKeyForm(_posted(request), question=question)
    number = question_numbers(exam)[question.pk]
    if request.method == "POST" and form.is_valid():
        regrade = services.question_answer_key_change(
            question=question, correct_answer=form.cleaned_data["correct_answer"], actor=request.user
        )
        messages.success(
            request,
            f"Q{number}'s answer key changed. {regrade.sessions} session(s) regraded; "
            f"{len(regrade.changed)} score(s) changed.",
        )
        return redirect("grading-overview", exam_id=exam.pk)
    context = {"exam": exam, "question": question, "number": number, "form": form, "counts": counts}
    return render(request, "sessions/answer_key.html", context | {"answered": answered})
