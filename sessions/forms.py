"""Forms of the grading pages. Their messages say what to type; the page says which field they
are about (its label: "Score for item 1", "Score for Stu Stone"), next to the field itself."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

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
        points = points_text(self.points)
        span = gettext("give a score from 0 to %(points)s") % {"points": points}
        try:
            # A decimal comma, as much of Europe types it, is the same number.
            score = Decimal(raw.replace(",", "."))
        except InvalidOperation:
            score = None
        if score is None or not score.is_finite():
            raise ValidationError(
                gettext("“%(raw)s” is not a number: %(span)s.") % {"raw": raw, "span": span}
            )
        if score < 0:
            raise ValidationError(gettext("%(raw)s is below 0: %(span)s.") % {"raw": raw, "span": span})
        if score > self.points:
            raise ValidationError(
                gettext("%(raw)s is more than this question's %(points)s points: %(span)s.")
                % {"raw": raw, "points": points, "span": span}
            )
        if score != score.quantize(CENT):
            raise ValidationError(
                gettext("Use at most two decimals (%(raw)s has more): %(span)s.") % {"raw": raw, "span": span}
            )
        return score

    def clean(self) -> dict:
        data = super().clean()
        if "score" in data and data["score"] is None and data.get("feedback", "").strip():
            self.add_error("score", _("Give a score with this feedback: it is saved with one."))
        return data

    @property
    def to_save(self) -> bool:
        """Valid, scored and changed: untouched answers keep who graded them and when."""
        return self.is_valid() and self.cleaned_data["score"] is not None and self.has_changed()


class AnswerKeyForm(forms.Form):
    """The answer key of an automatically scored question: the right choice (or choices) ticked
    among the choices students saw; a numeric question's number and tolerance; a matching
    question's match for each prompt, among the matches students saw. Its cleaned
    `correct_answer` is the question's new key."""

    def __init__(self, data=None, *, question: Question) -> None:
        super().__init__(data)
        self.question = question
        key = question.correct_answer
        if question.type == Question.Type.NUMERIC:
            key = key or {}
            self.fields["value"] = forms.DecimalField(
                label=_("The right number"),
                initial=key.get("value"),
                error_messages={"required": _("Give the number.")},
            )
            self.fields["tolerance"] = forms.DecimalField(
                label=_("Tolerance (±)"),
                min_value=0,
                initial=key.get("tolerance", 0),
                error_messages={"required": _("Give a tolerance (0 for an exact answer).")},
            )
        elif question.type == Question.Type.MATCHING:
            matches = [(match, match) for match in question.match_choices]
            for i, prompt in enumerate(question.options):
                self.fields[f"match_{i}"] = forms.ChoiceField(
                    label=prompt,
                    choices=matches,
                    initial=key[i] if isinstance(key, list) and i < len(key) else None,
                    error_messages={"required": f"Choose the match of “{prompt}”."},
                )
        else:
            choices = [(option, option) for option in question.options]
            self.initial["correct_answer"] = key
            if question.type == Question.Type.MCQ:
                self.fields["correct_answer"] = forms.ChoiceField(
                    label=_("The right answer"),
                    choices=choices,
                    widget=forms.RadioSelect,
                    error_messages={"required": _("Choose the right answer.")},
                )
            else:
                self.fields["correct_answer"] = forms.MultipleChoiceField(
                    label=_("The right answers"),
                    choices=choices,
                    widget=forms.CheckboxSelectMultiple,
                    error_messages={"required": _("Tick at least one right answer.")},
                )

    @property
    def match_fields(self) -> list:
        return [self[name] for name in self.fields if name.startswith("match_")]

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        question, current = self.question, self.question.correct_answer
        if question.type == Question.Type.NUMERIC:
            key = {"value": _json_number(data["value"]), "tolerance": _json_number(data["tolerance"])}
            same = isinstance(current, dict) and {k: Decimal(str(v)) for k, v in current.items()} == {
                "value": data["value"],
                "tolerance": data["tolerance"],
            }
        elif question.type == Question.Type.MATCHING:
            key = [data[f"match_{i}"] for i in range(len(question.options))]
            same = key == current
        else:
            key = data["correct_answer"]
            if isinstance(key, list):
                key = [option for option in question.options if option in key]  # the choices' order
            same = key == current or (isinstance(key, list) and set(key) == set(current or []))
        if same:
            # At the field the teacher changes (the number; the choices); a matching key's prompts
            # are many fields, so the form says it once above them.
            where = next((name for name in ("correct_answer", "value") if name in self.fields), None)
            self.add_error(where, _("This is the answer key already: nothing to regrade."))
            return data
        data["correct_answer"] = key
        return data


def _json_number(value: Decimal) -> int | float:
    # The key is JSON: a whole number stays an int (3, not 3.0), as an author would write it.
    return int(value) if value == value.to_integral_value() else float(value)
