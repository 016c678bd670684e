"""Scoring rules. Choice questions are scored by the server at submit; the rest by people.

Multiple-answer rule (shown to teachers in the admin help): each correct choice selected earns
points / number-of-correct-choices, each wrong choice selected costs the same, and the question
never scores below zero. So selecting everything earns nothing, and a partly right answer
earns part of the points.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q

from exams.models import Question

CENT = Decimal("0.01")


def is_auto_graded(question: Question) -> bool:
    return question.type in Question.CHOICE_TYPES


def auto_score(question: Question, response) -> Decimal:
    """The score of `response` to a choice question (an unanswered one scores zero)."""
    points = Decimal(question.points)
    if question.type == Question.Type.MCQ:
        return points if response is not None and response == question.correct_answer else Decimal(0)
    correct = set(question.correct_answer or [])
    chosen = set(response or [])
    if not correct:
        return Decimal(0)
    per_choice = points / len(correct)
    earned = per_choice * (len(chosen & correct) - len(chosen - correct))
    return max(Decimal(0), earned).quantize(CENT, rounding=ROUND_HALF_UP)


def needs_manual_grading(question: Question, response) -> bool:
    """Unanswered open questions score zero without a grader; answered ones wait for one."""
    if is_auto_graded(question):
        return False
    return response not in (None, "", [])


def answered(prefix: str = "") -> Q:
    """Answers with a response (not None, "" nor []), as a filter on answers (`prefix` "answers__"
    from a session): what `needs_manual_grading` reads, counted by the database."""
    return (
        Q(**{f"{prefix}response__isnull": False})
        & ~Q(**{f"{prefix}response": None})
        & ~Q(**{f"{prefix}response": ""})
        & ~Q(**{f"{prefix}response": []})
    )


def awaiting_grader(prefix: str = "") -> Q:
    """`needs_manual_grading` and not scored yet, as a filter on answers."""
    return (
        answered(prefix)
        & ~Q(**{f"{prefix}question__type__in": Question.CHOICE_TYPES})
        & Q(**{f"{prefix}score__isnull": True})
    )


def points_text(value: Decimal) -> str:
    """3.00 -> "3", 2.50 -> "2.5": points and scores as a person writes them."""
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
