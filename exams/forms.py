from __future__ import annotations

from decimal import Decimal

from django import forms
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from exams.importers import ImportFailed, parse_questions
from exams.models import Question


class ChoiceRowsWidget(forms.Widget):
    """One row per choice: a box to tick the right one(s) and the choice's text. Rows come back as
    [{"text", "correct"}] in the order shown; static/js/admin/questions.js adds rows."""

    template_name = "admin/exams/widgets/choice_rows.html"
    blank_rows = 2

    def _render(self, template_name, context, renderer=None):
        # The project's templates/ (where the admin's other templates live), not only the form
        # renderer's app directories.
        return render_to_string(template_name, context)  # already safe: autoescaped

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        rows = list(value or [])
        rows += [{"text": "", "correct": False}] * max(self.blank_rows, 4 - len(rows))
        context["widget"]["rows"] = rows
        return context

    def value_from_datadict(self, data, files, name):
        getlist = data.getlist if hasattr(data, "getlist") else lambda key: data.get(key, [])
        texts, ticked = getlist(name), set(getlist(f"{name}-correct"))
        return [{"text": text, "correct": str(i) in ticked} for i, text in enumerate(texts)]

    def value_omitted_from_data(self, data, files, name):
        return name not in data


class ChoiceRowsField(forms.Field):
    widget = ChoiceRowsWidget

    def to_python(self, value) -> list[dict]:
        rows = [{"text": str(row["text"]).strip(), "correct": bool(row["correct"])} for row in value or []]
        return [row for row in rows if row["text"]]

    def has_changed(self, initial, data) -> bool:
        return self.to_python(initial) != self.to_python(data)


class PairRowsWidget(ChoiceRowsWidget):
    """One row per pair of a matching question: the prompt and its match; as [{"text", "match"}]."""

    template_name = "admin/exams/widgets/pair_rows.html"

    def get_context(self, name, value, attrs):
        context = forms.Widget.get_context(self, name, value, attrs)
        rows = list(value or [])
        rows += [{"text": "", "match": ""}] * max(self.blank_rows, 4 - len(rows))
        context["widget"]["rows"] = rows
        return context

    def value_from_datadict(self, data, files, name):
        getlist = data.getlist if hasattr(data, "getlist") else lambda key: data.get(key, [])
        prompts, matches = getlist(name), getlist(f"{name}-match")
        matches = [*matches, *[""] * (len(prompts) - len(matches))]
        return [{"text": prompt, "match": match} for prompt, match in zip(prompts, matches, strict=False)]


class PairRowsField(forms.Field):
    widget = PairRowsWidget

    def to_python(self, value) -> list[dict]:
        rows = [{"text": str(row["text"]).strip(), "match": str(row["match"]).strip()} for row in value or []]
        return [row for row in rows if row["text"] or row["match"]]

    def has_changed(self, initial, data) -> bool:
        return self.to_python(initial) != self.to_python(data)


def language_choices(current: str = "") -> list[tuple[str, str]]:
    listed = [("", "---------"), *Question.LANGUAGES]
    if current and current not in dict(Question.LANGUAGES):
        listed.append((current, current))  # stored before the list existed: kept, not lost
    return listed


class QuestionAdminForm(forms.ModelForm):
    """Every question type in one form (the admin's one sortable list): the type picks which fields
    count, and static/js/admin/questions.js shows only those. Choices are typed once and the right
    ones ticked, never retyped."""

    choices = ChoiceRowsField(
        label=_("Choices"),
        required=False,
        help_text=_(
            "One choice per box; tick the right one (several for a multiple-answer question). "
            "A multiple-answer question gives each right choice its share of the points and takes the "
            "same off for each wrong one, never below zero."
        ),
    )
    language = forms.ChoiceField(label=_("Language"), required=False, choices=language_choices)
    pairs = PairRowsField(
        label=_("Pairs"),
        required=False,
        help_text=_(
            "Each prompt with its match. Students pick a match for each prompt from all the "
            "matches; each right pair earns its share of the points."
        ),
    )
    numeric_value = forms.DecimalField(
        label=_("Right number"), required=False, max_digits=30, decimal_places=10
    )
    numeric_tolerance = forms.DecimalField(
        label=_("Tolerance (±)"),
        required=False,
        min_value=0,
        max_digits=30,
        decimal_places=10,
        help_text=_("Answers within the right number ± this earn the points; 0 or empty: exactly."),
    )

    class Meta:
        model = Question
        fields = ["type", "text", "image", "language", "points", "explanation", "order"]
        widgets = {"text": forms.Textarea({"rows": 3}), "explanation": forms.Textarea({"rows": 2})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        question = self.instance
        for name in ("text", "points"):
            if name in self.fields:
                # A draw entry has neither (its summary and its bank questions' points are written
                # for it): required of questions in clean.
                self.fields[name].required = False
        if "type" in self.fields:
            self.fields["type"].choices = self.type_choices()
        if "type" in self.fields and not question.pk:
            self.fields["type"].initial = Question.Type.MCQ
        self.fields["language"].choices = language_choices(question.language)
        if question.pk and question.type in Question.CHOICE_TYPES:
            correct = question.correct_answer
            right = set(correct) if isinstance(correct, list) else {correct}
            self.initial["choices"] = [{"text": o, "correct": o in right} for o in question.options or []]
        if question.pk and question.type == Question.Type.MATCHING:
            pairs = zip(question.options, question.correct_answer or [], strict=False)
            self.initial["pairs"] = [{"text": prompt, "match": match} for prompt, match in pairs]
        if question.pk and question.type == Question.Type.NUMERIC and question.correct_answer:
            self.initial["numeric_value"] = question.correct_answer.get("value")
            self.initial["numeric_tolerance"] = question.correct_answer.get("tolerance")

    def type_choices(self) -> list[tuple[str, str]]:
        return list(Question.QUESTION_TYPES)

    def clean(self) -> dict:
        data = super().clean()
        question_type = data.get("type") or self.instance.type
        self.instance.type = question_type
        if question_type == Question.Type.DRAW:
            return data  # the bank, how many and which: Question._clean_draw
        if "text" in self.fields and not (data.get("text") or "").strip() and not self.has_error("text"):
            self.add_error("text", _("Write the question."))
        if "points" in self.fields and data.get("points") is None and not self.has_error("points"):
            self.add_error("points", _("Say how many points the question is worth (0 or more)."))
        rows = data.get("choices") or []
        self.instance.options = []
        self.instance.correct_answer = None
        if question_type in Question.CHOICE_TYPES:
            self.instance.options = [row["text"] for row in rows]
            right = [row["text"] for row in rows if row["correct"]]
            if len(rows) >= 2 and not right:
                self.add_error("choices", _("Tick the right choice (or choices) among them."))
            if question_type == Question.Type.MCQ_MULTIPLE:
                self.instance.correct_answer = right
            elif len(right) > 1:
                self.add_error(
                    "choices", _("Tick only one right choice, or make it a multiple-answer question.")
                )
            else:
                self.instance.correct_answer = right[0] if right else None
        elif rows:
            self.add_error(
                "choices", _("Only choice questions have choices: remove them or change the type.")
            )
        if question_type == Question.Type.MATCHING:
            self._clean_pairs(data.get("pairs") or [])
        if question_type == Question.Type.NUMERIC:
            self._clean_numeric(data)
        if question_type != Question.Type.CODE:
            self.instance.language = data["language"] = ""
        return data

    def _clean_pairs(self, pairs: list[dict]) -> None:
        if any(not row["text"] or not row["match"] for row in pairs):
            self.add_error("pairs", _("Give each prompt its match (and each match its prompt)."))
        self.instance.options = [row["text"] for row in pairs]
        self.instance.correct_answer = [row["match"] for row in pairs]

    def _clean_numeric(self, data: dict) -> None:
        value, tolerance = data.get("numeric_value"), data.get("numeric_tolerance") or Decimal(0)
        if value is None:
            if not self.has_error("numeric_value"):
                self.add_error("numeric_value", _("Give the right number."))
            return
        as_json = [int(n) if n == n.to_integral_value() else float(n) for n in (value, tolerance)]
        self.instance.correct_answer = {"value": as_json[0], "tolerance": as_json[1]}

    def _error_field(self, key: str) -> str:
        """Where a model error about options/correct_answer shows: at the type's own field."""
        if key not in ("options", "correct_answer"):
            return key
        return {Question.Type.MATCHING: "pairs", Question.Type.NUMERIC: "numeric_value"}.get(
            self.instance.type, "choices"
        )

    def _update_errors(self, errors) -> None:
        # Model validation reports on options/correct_answer: show those at the type's own field.
        if hasattr(errors, "error_dict"):
            messages = {}
            for key, value in errors.error_dict.items():
                key = self._error_field(key)
                if key in ("choices", "pairs", "numeric_value") and self.has_error(key):
                    continue  # the form already said what is wrong with them, in its own words
                messages.setdefault(key, []).extend(value)
            errors.error_dict = messages
        super()._update_errors(errors)


class ExamQuestionAdminForm(QuestionAdminForm):
    """An exam's list: its questions and its bank draws ("3 questions from bank 'Kinematics',
    topic vectors, medium") in one sortable order."""

    class Meta(QuestionAdminForm.Meta):
        fields = [*QuestionAdminForm.Meta.fields, "draw_from", "draw_count", "topic", "difficulty"]
        help_texts = {
            "draw_from": _(
                "A bank of this exam's course. Each student gets their own questions, drawn "
                "when they start; the draw's points are those of the bank's questions."
            ),
            "draw_count": _("How many questions each student gets from the bank."),
            "topic": _("For a draw: only the bank's questions of this topic (empty: any topic)."),
            "difficulty": _("For a draw: only the bank's questions of this difficulty (empty: any)."),
        }

    def type_choices(self) -> list[tuple[str, str]]:
        return list(Question.Type.choices)


class BankQuestionAdminForm(QuestionAdminForm):
    """A bank's question: any type a student may be asked, tagged by topic and difficulty."""

    class Meta(QuestionAdminForm.Meta):
        fields = [*QuestionAdminForm.Meta.fields, "topic", "difficulty"]
        help_texts = {"topic": _("e.g. vectors; an exam's draw can ask for one topic.")}


class QuestionImportForm(forms.Form):
    FORMATS = [("gift", "GIFT (Moodle)"), ("aiken", "Aiken")]

    format = forms.ChoiceField(choices=FORMATS)
    file = forms.FileField(required=False, help_text=_("A UTF-8 text file, at most 1 MB."))
    text = forms.CharField(
        widget=forms.Textarea({"rows": 12, "cols": 80}), required=False, label=_("…or paste")
    )

    def clean(self) -> dict:
        data = super().clean()
        upload = data.get("file")
        if upload is not None:
            if upload.size > 1_048_576:
                raise forms.ValidationError(_("The file is larger than 1 MB."))
            try:
                data["text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise forms.ValidationError(_("The file is not UTF-8 text.")) from exc
        if not data.get("text", "").strip():
            raise forms.ValidationError(_("Upload a file or paste the questions."))
        try:
            data["questions"] = parse_questions(data["text"], data["format"])
        except ImportFailed as exc:
            self.problems = exc.problems
            raise forms.ValidationError(
                [f"line {p.line}: {p.message}" for p in exc.problems], code="import"
            ) from exc
        return data


class RosterUploadForm(forms.Form):
    """A CSV roster: e-mail, first name, last name, optional student id (a header row first)."""

    MAX_BYTES = 2 * 1024 * 1024

    roster = forms.FileField(
        label=_("CSV file"),
        help_text=_("Columns: e-mail, first name, last name, student id (optional), with a header row."),
        required=False,
    )
    # The preview's file, posted back on confirmation; it is checked again, never trusted.
    content = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean(self) -> dict:
        data = super().clean()
        upload = data.get("roster")
        if upload is not None:
            if upload.size > self.MAX_BYTES:
                raise forms.ValidationError(_("The file is larger than 2 MB."))
            try:
                data["content"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(_("Save the file as CSV in UTF-8.")) from None
            if "\x00" in data["content"]:
                # Not text: and the hidden field that carries it to the confirmation would refuse it.
                raise forms.ValidationError(_("This file is not a CSV text file (it contains NUL bytes)."))
        if not data.get("content"):
            raise forms.ValidationError(_("Choose a CSV file."))
        return data


class JoinCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Join code"),
        max_length=20,
        help_text=_("The eight characters your teacher gave you."),
        widget=forms.TextInput({"autocomplete": "off", "autocapitalize": "characters"}),
    )
