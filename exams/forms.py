from __future__ import annotations

from django import forms

from exams.importers import ImportFailed, parse_questions
from exams.models import Question


class QuestionAdminForm(forms.ModelForm):
    """Choices edited one per line instead of as raw JSON; the type comes from the inline."""

    question_type: str = ""
    options_text = forms.CharField(
        label="Choices", widget=forms.Textarea({"rows": 4}), required=False, help_text="One choice per line."
    )
    correct_text = forms.CharField(
        label="Correct answer",
        widget=forms.Textarea({"rows": 2}),
        required=False,
        help_text="Copy the correct choice exactly; for several correct choices, one per line.",
    )

    class Meta:
        model = Question
        fields = ["text", "image", "language", "points", "explanation", "order"]
        widgets = {"text": forms.Textarea({"rows": 3}), "explanation": forms.Textarea({"rows": 2})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.instance.type = self.question_type
        if self.instance.pk:
            self.fields["options_text"].initial = "\n".join(self.instance.options or [])
            correct = self.instance.correct_answer
            self.fields["correct_text"].initial = (
                "\n".join(correct) if isinstance(correct, list) else (correct or "")
            )

    def clean(self) -> dict:
        data = super().clean()
        lines = [line.strip() for line in data.get("options_text", "").splitlines() if line.strip()]
        correct = [line.strip() for line in data.get("correct_text", "").splitlines() if line.strip()]
        self.instance.options = lines
        if self.question_type == Question.Type.MCQ:
            self.instance.correct_answer = correct[0] if len(correct) == 1 else (correct or None)
        elif self.question_type == Question.Type.MCQ_MULTIPLE:
            self.instance.correct_answer = correct
        else:
            self.instance.correct_answer = None
        return data

    def _update_errors(self, errors) -> None:
        # Model validation reports on options/correct_answer; show those on our two text fields.
        if hasattr(errors, "error_dict"):
            renames = {"options": "options_text", "correct_answer": "correct_text"}
            errors.error_dict = {renames.get(k, k): v for k, v in errors.error_dict.items()}
        super()._update_errors(errors)


def question_form(question_type: str) -> type[QuestionAdminForm]:
    return type(f"{question_type}QuestionForm", (QuestionAdminForm,), {"question_type": question_type})


class QuestionImportForm(forms.Form):
    FORMATS = [("gift", "GIFT (Moodle)"), ("aiken", "Aiken")]

    format = forms.ChoiceField(choices=FORMATS)
    file = forms.FileField(required=False, help_text="A UTF-8 text file, at most 1 MB.")
    text = forms.CharField(widget=forms.Textarea({"rows": 12, "cols": 80}), required=False, label="…or paste")

    def clean(self) -> dict:
        data = super().clean()
        upload = data.get("file")
        if upload is not None:
            if upload.size > 1_048_576:
                raise forms.ValidationError("The file is larger than 1 MB.")
            try:
                data["text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise forms.ValidationError("The file is not UTF-8 text.") from exc
        if not data.get("text", "").strip():
            raise forms.ValidationError("Upload a file or paste the questions.")
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
        label="CSV file",
        help_text="Columns: e-mail, first name, last name, student id (optional), with a header row.",
        required=False,
    )
    # The preview's file, posted back on confirmation; it is checked again, never trusted.
    content = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean(self) -> dict:
        data = super().clean()
        upload = data.get("roster")
        if upload is not None:
            if upload.size > self.MAX_BYTES:
                raise forms.ValidationError("The file is larger than 2 MB.")
            try:
                data["content"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError("Save the file as CSV in UTF-8.") from None
            if "\x00" in data["content"]:
                # Not text: and the hidden field that carries it to the confirmation would refuse it.
                raise forms.ValidationError("This file is not a CSV text file (it contains NUL bytes).")
        if not data.get("content"):
            raise forms.ValidationError("Choose a CSV file.")
        return data


class JoinCodeForm(forms.Form):
    code = forms.CharField(
        label="Join code",
        max_length=20,
        help_text="The eight characters your teacher gave you.",
        widget=forms.TextInput({"autocomplete": "off", "autocapitalize": "characters"}),
    )
