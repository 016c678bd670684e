"""Exam shapes as in the reference document (camelCase on the wire): duration, startTime,
endTime, questions[{questionText, options, imageUrl, correctAnswer, points, explanation}],
createdBy, settings{allowedAttempts, shuffleQuestions, showResults, proctoringEnabled,
securityLevel, …: one key per row of exams/settings_fields.py}. Image questions send their picture
as `image`, base64 (a data: URL or bare), since an exam and all its questions travel as one JSON
document."""

from __future__ import annotations

import base64
import binascii
import io
import uuid

from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from PIL import Image, UnidentifiedImageError
from rest_framework import serializers

from exams.models import Course, Exam, Question
from exams.settings_fields import EXAM_SETTING_NAMES, EXAM_SETTINGS


class QuestionOutput(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    question_text = serializers.CharField(source="text")
    image_url = serializers.SerializerMethodField()

    class Meta:
        model = Question
        fields = [
            "id",
            "type",
            "question_text",
            "options",
            "image_url",
            "language",
            "correct_answer",
            "points",
            "explanation",
            "order",
        ]

    def get_image_url(self, question: Question) -> str | None:
        return reverse("question-image", args=[question.pk]) if question.image else None

    def to_representation(self, question: Question) -> dict:
        data = super().to_representation(question)
        data["points"] = float(question.points)
        if not self.context.get("with_answers"):
            data.pop("correct_answer")
            data.pop("explanation")
        return data


class ExamSettingsField(serializers.ModelSerializer):
    """The exam's settings. A setting left out of a request takes its default."""

    # One key per row of exams/settings_fields.py, typed, labelled and defaulted by its model field.
    class Meta:
        model = Exam
        fields = list(EXAM_SETTING_NAMES)
        extra_kwargs = {
            setting.name: {"default": Exam._meta.get_field(setting.name).default, **setting.api_limits}
            for setting in EXAM_SETTINGS
        }


class ExamOutput(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    duration = serializers.IntegerField(source="duration_minutes")
    created_by = serializers.CharField(source="created_by_id")
    course_id = serializers.CharField(read_only=True)
    settings = ExamSettingsField(source="*", read_only=True)
    questions = serializers.SerializerMethodField()
    is_open = serializers.BooleanField()

    class Meta:
        model = Exam
        fields = [
            "id",
            "title",
            "description",
            "duration",
            "start_time",
            "end_time",
            "is_published",
            "is_open",
            "created_by",
            "course_id",
            "settings",
            "questions",
            "created_at",
            "updated_at",
        ]

    def get_questions(self, exam: Exam) -> list[dict]:
        if not self.context.get("with_questions", True):
            return []
        return QuestionOutput(exam.questions.order_by("order", "id"), many=True, context=self.context).data


MAX_QUESTION_IMAGE_BYTES = 2 * 1024 * 1024
QUESTION_IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}


@extend_schema_field(OpenApiTypes.BYTE)
class Base64ImageField(serializers.Field):
    """A picture sent inside JSON as base64, checked to be a real JPEG, PNG, GIF or WebP of at
    most 2 MB; becomes a ContentFile with a fresh name for the question's ImageField."""

    default_error_messages = {
        "invalid": "Send the image as base64 (a data: URL or bare base64).",
        "too_large": f"The image is larger than {MAX_QUESTION_IMAGE_BYTES // 1_048_576} MB.",
        "not_image": "The data is not a JPEG, PNG, GIF or WebP picture.",
    }

    def to_internal_value(self, data) -> ContentFile:
        if not isinstance(data, str):
            self.fail("invalid")
        encoded = data.split(",", 1)[1] if data.startswith("data:") and "," in data else data
        if len(encoded) > MAX_QUESTION_IMAGE_BYTES * 4 // 3 + 4:
            self.fail("too_large")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            self.fail("invalid")
        try:
            with Image.open(io.BytesIO(raw)) as picture:
                kind = picture.format
                picture.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            self.fail("not_image")
        if kind not in QUESTION_IMAGE_FORMATS:
            self.fail("not_image")
        return ContentFile(raw, name=f"{uuid.uuid4().hex}.{QUESTION_IMAGE_FORMATS[kind]}")

    def to_representation(self, value) -> str:  # never sent back: GET gives imageUrl
        return ""


# What a Code question without a language (the reference document's shape) records.
UNSPECIFIED_CODE_LANGUAGE = "plaintext"


class QuestionInput(serializers.Serializer):
    # A bank draw is authored in the admin only: the API sends and takes questions.
    type = serializers.ChoiceField(choices=Question.QUESTION_TYPES)
    question_text = serializers.CharField(max_length=20_000)
    options = serializers.ListField(
        child=serializers.CharField(max_length=1000), required=False, default=list, max_length=26
    )
    correct_answer = serializers.JSONField(required=False, allow_null=True, default=None)
    points = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=0, default=1)
    explanation = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    language = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    image = Base64ImageField(required=False)

    def validate(self, data: dict) -> dict:
        # The reference document knows one choice type, "MCQ", whose correctAnswer is
        # `string | string[]` (as a student's answer is): a list means the student picks several,
        # so it is our multiple-answer type, graded per choice (sessions/grading.py).
        if data["type"] == Question.Type.MCQ and isinstance(data["correct_answer"], list):
            data["type"] = Question.Type.MCQ_MULTIPLE
        # The document's Code question has no language; the question text says which, if any.
        if data["type"] == Question.Type.CODE and not data["language"]:
            data["language"] = UNSPECIFIED_CODE_LANGUAGE
        return data


class ExamInput(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    duration = serializers.IntegerField(min_value=1, max_value=24 * 60)
    start_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField()
    # Absent: published on create (the document has no drafts), left as it was on update.
    is_published = serializers.BooleanField(required=False)
    # The course the exam belongs to; absent on create: the teacher's own course.
    course_id = serializers.CharField(required=False, max_length=20)
    settings = ExamSettingsField(required=False)
    questions = QuestionInput(many=True, required=False)

    def to_internal_value(self, data):
        questions = data.get("questions") if isinstance(data, dict) else None
        if isinstance(questions, list):
            # A read lists the exam's bank draws among its questions (authored in the admin): an
            # exam read, changed and sent back keeps them where they are (exam_update), untouched.
            kept = [q for q in questions if not (isinstance(q, dict) and q.get("type") == Question.Type.DRAW)]
            data = {**data, "questions": kept}
        return super().to_internal_value(data)

    def validate(self, data: dict) -> dict:
        if data["end_time"] <= data["start_time"]:
            raise serializers.ValidationError({"end_time": gettext("The exam must end after it starts.")})
        return data

    def to_service_kwargs(self) -> dict:
        """Flatten the reference shape into exam_create/exam_update keyword arguments."""
        data = dict(self.validated_data)
        kwargs = data.pop("settings", None) or dict(ExamSettingsField().to_internal_value({}))
        kwargs.update(
            title=data["title"],
            description=data["description"],
            duration_minutes=data["duration"],
            start_time=data["start_time"],
            end_time=data["end_time"],
        )
        if "is_published" in data:
            kwargs["is_published"] = data["is_published"]
        elif self.instance is None:
            # A client of the reference document creates an exam for its students to take
            # (GET /api/exams "lists available exams"); only a client that knows about drafts
            # asks for one, with "isPublished": false.
            kwargs["is_published"] = True
        if "questions" in data:
            kwargs["questions"] = [
                {
                    "type": q["type"],
                    "text": q["question_text"],
                    "options": q["options"],
                    "correct_answer": q["correct_answer"],
                    "points": q["points"],
                    "explanation": q["explanation"],
                    "language": q["language"],
                    **({"image": q["image"]} if "image" in q else {}),
                }
                for q in data["questions"]
            ]
        return kwargs


class CourseInput(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    code = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    term = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class CourseJoinInput(serializers.Serializer):
    code = serializers.CharField(max_length=20)


class CourseJoinOutput(serializers.Serializer):
    """The course as its student sees it: no join code, no roster."""

    id = serializers.CharField(source="course.pk")
    title = serializers.CharField(source="course.title")
    code = serializers.CharField(source="course.code")
    term = serializers.CharField(source="course.term")
    newly_enrolled = serializers.BooleanField(help_text="False when the student was in the course already.")


class CourseOutput(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    teacher_ids = serializers.SerializerMethodField()
    student_count = serializers.IntegerField(source="enrolments.count", read_only=True)

    class Meta:
        model = Course
        fields = ["id", "title", "code", "term", "join_code", "teacher_ids", "student_count", "created_at"]

    def get_teacher_ids(self, course: Course) -> list[str]:
        return [str(pk) for pk in course.teachers.values_list("pk", flat=True)]


class CourseStudentsInput(serializers.Serializer):
    emails = serializers.ListField(
        child=serializers.EmailField(max_length=254), min_length=1, max_length=5000
    )


class EnrolmentReportOutput(serializers.Serializer):
    enrolled = serializers.ListField(child=serializers.EmailField())
    already_enrolled = serializers.ListField(child=serializers.EmailField())
    invited = serializers.ListField(child=serializers.EmailField())
    refused = serializers.ListField(child=serializers.DictField())
