"""Scoring rules. Choice, numeric and matching questions are scored by the server at submit; the
rest by people.

Multiple-answer rule (shown to teachers in the admin help): each correct choice selected earns
points / number-of-correct-choices, each wrong choice selected costs the same, and the question
never scores below zero. So selecting everything earns nothing, and a partly right answer
earns part of the points.

Numeric rule: full points when the answer is within the key's value ± tolerance (both ends
included), else zero; a decimal comma counts as a point. Matching rule: each prompt given its
right match earns points / number-of-prompts; a wrong or missing match earns nothing for that
prompt (no penalty: a student cannot guess their way below zero on a question of pairs).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db.models import Q

from exams.models import Question

CENT = Decimal("0.01")


def is_auto_graded(question: Question) -> bool:
    return question.type in Question.AUTO_GRADED_TYPES


def number_of(value) -> Decimal | None:
    """A numeric answer as the student gave it (a JSON number, or the text typed, with a decimal
    point or comma) as a Decimal; None if it is no finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ".").replace(" ", ""))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def auto_score(question: Question, response) -> Decimal:
    """The score of `response` to an automatically scored question (unanswered scores zero)."""
    points = Decimal(question.points)
    if question.type == Question.Type.NUMERIC:
        key, given = question.correct_answer or {}, number_of(response)
        if given is None or "value" not in key:
            return Decimal(0)
        try:
            within = abs(given - Decimal(str(key["value"]))) <= Decimal(str(key["tolerance"]))
        except ArithmeticError:  # "1e999999999": a number, but past Decimal's range
            return Decimal(0)
        return points if within else Decimal(0)
    if question.type == Question.Type.MATCHING:
        key = question.correct_answer or []
        given = response if isinstance(response, list) else []
        right = sum(1 for i, match in enumerate(key) if i < len(given) and given[i] == match)
        earned = points * right / len(key) if key else Decimal(0)
        return earned.quantize(CENT, rounding=ROUND_HALF_UP)
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
        & ~Q(**{f"{prefix}question__type__in": Question.AUTO_GRADED_TYPES})
        & Q(**{f"{prefix}score__isnull": True})
    )


def points_text(value: Decimal) -> str:
    """3.00 -> "3", 2.50 -> "2.5": points and scores as a person writes them."""
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
