"""Forms of the grading pages. Their messages say what to type; the page says which field they
are about (its label: "Score for item 1", "Score for Stu Stone"), next to the field itself."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError

from exams.models import Question
from sessions.grading import CENT, points_text
from sessions.models import Answer


class AnswerGradeForm(forms.Form):
    """A score and feedback for one open answer. An empty score leaves the answer to grade later."""

    score = forms.CharField(required=False, max_length=20)
    feedback = forms.CharField(required=False, widget=forms.Textarea, max_length=10_000)

    def __init__(self, data=None, *, answer: Answer) -> None:
        initial = {
            "score": "" if answer.score is None else points_text(answer.score),
            "feedback": answer.feedback,
        }
        super().__init__(data, prefix=str(answer.pk), initial=initial)
        self.answer = answer
        self.points = answer.question.points

    def add_prefix(self, field_name: str) -> str:
        # score-<answer id>, feedback-<answer id>: the names the grading page has always posted.
        return f"{field_name}-{self.prefix}"

    def clean_score(self) -> Decimal | None:
        raw = self.cleaned_data["score"].strip()
        if raw == "":
            return None
        span = f"give a score from 0 to {points_text(self.points)}"
        try:
            # A decimal comma, as much of Europe types it, is the same number.
            score = Decimal(raw.replace(",", "."))
        except InvalidOperation:
            score = None
        if score is None or not score.is_finite():
            raise ValidationError(f"“{raw}” is not a number: {span}.")
        if score < 0:
            raise ValidationError(f"{raw} is below 0: {span}.")
        if score > self.points:
            raise ValidationError(
                f"{raw} is more than this question's {points_text(self.points)} points: {span}."
            )
        if score != score.quantize(CENT):
            raise ValidationError(f"Use at most two decimals ({raw} has more): {span}.")
        return score

    def clean(self) -> dict:
        data = super().clean()
        if "score" in data and data["score"] is None and data.get("feedback", "").strip():
            self.add_error("score", "Give a score with this feedback: it is saved with one.")
        return data

    @property
    def to_save(self) -> bool:
        """Valid, scored and changed: untouched answers keep who graded them and when."""
        return self.is_valid() and self.cleaned_data["score"] is not None and self.has_changed()


class AnswerKeyForm(forms.Form):
    """The right choice (or choices) of a choice question, ticked among the choices students saw."""

    def __init__(self, data=None, *, question: Question) -> None:
        super().__init__(data, initial={"correct_answer": question.correct_answer})
        self.question = question
        choices = [(option, option) for option in question.options]
        if question.type == Question.Type.MCQ:
            self.fields["correct_answer"] = forms.ChoiceField(
                label="The right answer",
                choices=choices,
                widget=forms.RadioSelect,
                error_messages={"required": "Choose the right answer."},
            )
        else:
            self.fields["correct_answer"] = forms.MultipleChoiceField(
                label="The right answers",
                choices=choices,
                widget=forms.CheckboxSelectMultiple,
                error_messages={"required": "Tick at least one right answer."},
            )

    def clean_correct_answer(self):
        key = self.cleaned_data["correct_answer"]
        if isinstance(key, list):
            key = [option for option in self.question.options if option in key]  # the choices' order
        current = self.question.correct_answer
        if key == current or (isinstance(key, list) and set(key) == set(current or [])):
            raise ValidationError("This is the answer key already: nothing to regrade.")
        return key
