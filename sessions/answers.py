"""What a valid answer to each question type looks like."""

from __future__ import annotations

from exams.models import Question
from sessions.errors import InvalidAnswer

# What a student types as a number: generous, but not a place to paste an essay.
MAX_NUMBER_CHARS = 100

MAX_TEXT_CHARS = {
    Question.Type.PARAGRAPH: 20_000,
    Question.Type.IMAGE: 20_000,
    Question.Type.CODE: 100_000,
}


def validate_response(question: Question, response) -> None:
    """Raise InvalidAnswer unless `response` is a possible answer to `question` (None clears it)."""
    if response is None:
        return
    problem = _problem(question, response)
    if problem:
        raise InvalidAnswer(problem, details={"questionId": str(question.pk)})


def _problem(question: Question, response) -> str | None:
    if question.type == Question.Type.MCQ:
        if not isinstance(response, str) or response not in question.options:
            return "Choose one of the question's options."
        return None
    if question.type == Question.Type.MCQ_MULTIPLE:
        if not isinstance(response, list) or not all(isinstance(r, str) for r in response):
            return "Send the chosen options as a list."
        if len(set(response)) != len(response) or not set(response) <= set(question.options):
            return "Choose each option at most once, from the question's options."
        return None
    if question.type == Question.Type.NUMERIC:
        # The text as typed is kept (a half-typed "3," autosaves); it is read as a number when scored.
        if isinstance(response, bool) or not isinstance(response, int | float | str):
            return "Send the answer as a number or as the text typed."
        if isinstance(response, str) and len(response) > MAX_NUMBER_CHARS:
            return f"A number of at most {MAX_NUMBER_CHARS} characters."
        return None
    if question.type == Question.Type.MATCHING:
        # One match (or null: not matched yet) per prompt, in the prompts' order.
        allowed = set(question.match_choices)
        if (
            not isinstance(response, list)
            or len(response) != len(question.options)
            or not all(r is None or (isinstance(r, str) and r in allowed) for r in response)
        ):
            return "Send one of the offered matches (or null) for each prompt, in order."
        return None
    if not isinstance(response, str):
        return "Send the answer as text."
    limit = MAX_TEXT_CHARS[question.type]
    if len(response) > limit:
        return f"The answer is {len(response)} characters long; the limit is {limit}."
    return None
