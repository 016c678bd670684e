import math
import secrets
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from exams.settings_fields import EXAM_SETTINGS, SecurityLevel


def upload_question_image(instance: "Question", filename: str) -> str:
    return f"questions/{uuid.uuid4().hex}{Path(filename).suffix.lower()}"


class ExamSettings(models.Model):
    """An exam's settings: one field per row of exams.settings_fields.EXAM_SETTINGS, added below."""

    class Meta:
        abstract = True


for _setting in EXAM_SETTINGS:
    ExamSettings.add_to_class(_setting.name, _setting.model_field())


def new_join_code() -> str:
    # Eight characters a student can type from a board: no 0/O or 1/I/L to confuse.
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(8))


class Course(models.Model):
    """A class a school teaches: its teachers own its exams, its proctors watch them, and only
    its enrolled students meet them (exams.selectors.exams_visible_to)."""

    title = models.CharField(max_length=200, verbose_name=_("title"))
    code = models.CharField(
        max_length=40, blank=True, help_text=_("The school's own code, e.g. PHY-101."), verbose_name=_("code")
    )
    term = models.CharField(
        max_length=40, blank=True, help_text=_("e.g. Autumn 2026."), verbose_name=_("term")
    )
    teachers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="taught_courses",
        limit_choices_to={"role__in": ["teacher", "admin"]},
        verbose_name=_("teachers"),
    )
    proctors = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="proctored_courses",
        limit_choices_to={"role": "proctor"},
        help_text=_("Proctors who watch every exam of this course."),
        verbose_name=_("proctors"),
    )
    students = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="Enrolment",
        related_name="enrolled_courses",
        blank=True,
        verbose_name=_("students"),
    )
    join_code = models.CharField(
        max_length=12, unique=True, default=new_join_code, verbose_name=_("join code")
    )
    # The course an exam lands in when its teacher names none (made on demand, one per teacher).
    default_for = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="default_course",
        editable=False,
        verbose_name=_("default for"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        ordering = ["title", "pk"]

    def __str__(self) -> str:
        return f"{self.code} {self.title}".strip() if self.code else self.title


class Enrolment(models.Model):
    """A student in a course, and how they came to be there."""

    class Source(models.TextChoices):
        ADMIN = "admin", _("Added in the admin")
        API = "api", _("Added through the API")
        CSV = "csv", _("CSV upload")
        JOIN_CODE = "join-code", _("Joined with the course's code")
        LTI = "lti", _("From the LMS")
        MIGRATION = "migration", _("Had sat an exam before courses existed")

    course = models.ForeignKey(
        Course, on_delete=models.CASCADE, related_name="enrolments", verbose_name=_("course")
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="enrolments",
        limit_choices_to={"role": "student"},
        verbose_name=_("student"),
    )
    source = models.CharField(
        max_length=12, choices=Source.choices, default=Source.ADMIN, verbose_name=_("source")
    )
    # The school's own number for the student (from a CSV roster). Kept per course: accounts.User
    # has no such field, and a student's number is the school's record, not their profile's.
    student_number = models.CharField(_("student id"), max_length=64, blank=True)
    enrolled_at = models.DateTimeField(auto_now_add=True, verbose_name=_("enrolled at"))

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        ordering = ["course", "student__last_name", "student__first_name", "pk"]
        constraints = [models.UniqueConstraint(fields=["course", "student"], name="exams_enrolment_once")]

    def __str__(self) -> str:
        return f"{self.student} in {self.course}"


class Exam(ExamSettings):
    SecurityLevel = SecurityLevel  # callers write Exam.SecurityLevel.HIGH

    title = models.CharField(max_length=200, verbose_name=_("title"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    duration_minutes = models.PositiveIntegerField(
        help_text=_("Time each attempt may take."), verbose_name=_("duration minutes")
    )
    start_time = models.DateTimeField(
        help_text=_("The exam opens at this time."), verbose_name=_("start time")
    )
    end_time = models.DateTimeField(
        help_text=_("No attempt may start or run past this time."), verbose_name=_("end time")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="authored_exams",
        verbose_name=_("created by"),
    )
    # Only the course's enrolled students meet the exam; its teachers and proctors oversee it.
    course = models.ForeignKey(
        Course, on_delete=models.PROTECT, related_name="exams", verbose_name=_("course")
    )
    # Drafts stay invisible to students until the author publishes them.
    is_published = models.BooleanField(_("published"), default=False)
    proctors = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="proctored_exams",
        limit_choices_to={"role": "proctor"},
        help_text=_("Proctors who watch this exam's sessions live."),
        verbose_name=_("proctors"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("exam")
        verbose_name_plural = _("exams")
        ordering = ["-start_time", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")), name="exams_exam_window_ordered"
            ),
            models.CheckConstraint(condition=Q(duration_minutes__gt=0), name="exams_exam_duration_positive"),
            models.CheckConstraint(condition=Q(allowed_attempts__gt=0), name="exams_exam_attempts_positive"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        super().clean()
        # A draw takes only a bank of its exam's course (Question._clean_draw): moved, the exam
        # would give another course's students this course's bank, out of its teachers' sight.
        if self.pk is not None and (
            self.questions.filter(type=Question.Type.DRAW)
            .exclude(draw_from__course_id=self.course_id)
            .exists()
        ):
            raise ValidationError(
                {"course": _("The exam draws questions from a bank of its course: it stays in that course.")}
            )

    @property
    def is_open(self) -> bool:
        return self.start_time <= timezone.now() < self.end_time

    @property
    def captures_screen(self) -> bool:
        """Whether its students share their entire screen (screen capture needs proctoring on)."""
        return self.proctoring_enabled and self.screen_capture

    @property
    def screen_share_enforced(self) -> bool:
        """Whether the exam is hidden while the screen is not shared: at high security only, as
        its `screen_share_lapse` says (below high, a refusal is an alert and nothing more)."""
        return (
            self.captures_screen
            and self.security_level == SecurityLevel.HIGH
            and self.screen_share_lapse != "alert"
        )


class QuestionBank(models.Model):
    """A course's pool of questions, tagged by topic and difficulty, that its exams draw from: each
    student of an exam gets their own draw, fixed when they start (sessions.services). Only the
    course's teachers (and admins) see and edit it (exams.selectors.banks_visible_to)."""

    course = models.ForeignKey(
        Course, on_delete=models.CASCADE, related_name="question_banks", verbose_name=_("course")
    )
    title = models.CharField(max_length=200, verbose_name=_("title"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("question bank")
        verbose_name_plural = _("question banks")
        ordering = ["course", "title", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["course", "title"], name="exams_questionbank_title_once"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.course})"

    def clean(self) -> None:
        # A draw takes only a bank of its exam's course (Question._clean_draw): moving the bank
        # would hand another course's teachers the questions these exams give their students.
        if self.pk is not None and (
            Question.objects.filter(draw_from_id=self.pk).exclude(exam__course_id=self.course_id).exists()
        ):
            raise ValidationError(
                {"course": _("Exams of its course draw from this bank: it stays in that course.")}
            )


class Question(models.Model):
    """A question of one exam, of one course's bank, or (type DRAW) an exam's entry that draws
    `draw_count` questions from a bank for each student. A drawn question is the bank's own row:
    answers and grading refer to it exactly as to an exam's fixed questions."""

    # Values are the reference API's type names, so API clients see them unchanged.
    class Type(models.TextChoices):
        MCQ = "MCQ", _("Multiple choice, one answer")
        MCQ_MULTIPLE = "MCQ-multiple", _("Multiple choice, several answers")
        PARAGRAPH = "Paragraph", _("Paragraph")
        IMAGE = "Image", _("Image")
        CODE = "Code", _("Code")
        # correct_answer {"value": number, "tolerance": number}: right within value ± tolerance.
        NUMERIC = "Numeric", _("Numeric (with a tolerance)")
        # options are the prompts; correct_answer their matches, in the same order.
        MATCHING = "Matching", _("Matching pairs")
        # Not a question: N questions drawn from a bank for each student at start (draw_* fields).
        DRAW = "Draw", _("Questions drawn from a bank")

    class Difficulty(models.TextChoices):
        EASY = "easy", _("Easy")
        MEDIUM = "medium", _("Medium")
        HARD = "hard", _("Hard")

    # What a student may be asked, and a bank may hold: every type but the draw entry.
    QUESTION_TYPES = [choice for choice in Type.choices if choice[0] != "Draw"]
    CHOICE_TYPES = frozenset({Type.MCQ, Type.MCQ_MULTIPLE})
    # Scored by the server at submit (sessions/grading.py); the rest wait for a grader.
    AUTO_GRADED_TYPES = CHOICE_TYPES | {Type.NUMERIC, Type.MATCHING}
    # What the admin offers for a code question's language (the exam page shows the label). The
    # column stays free text: the API's "plaintext" default and languages stored before this list
    # remain valid, and the admin keeps a stored value that is not listed.
    LANGUAGES = [
        ("python", "Python"),
        ("javascript", "JavaScript"),
        ("typescript", "TypeScript"),
        ("java", "Java"),
        ("c", "C"),
        ("cpp", "C++"),
        ("csharp", "C#"),
        ("go", "Go"),
        ("rust", "Rust"),
        ("kotlin", "Kotlin"),
        ("swift", "Swift"),
        ("php", "PHP"),
        ("ruby", "Ruby"),
        ("r", "R"),
        ("matlab", "MATLAB"),
        ("sql", "SQL"),
        ("haskell", "Haskell"),
        ("bash", "Shell (bash)"),
        ("html", "HTML/CSS"),
        ("pseudocode", "Pseudocode"),
        ("plaintext", "Any / plain text"),
    ]

    # A question belongs to an exam or to a course's bank, never both (the constraint below).
    exam = models.ForeignKey(
        Exam,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="questions",
        verbose_name=_("exam"),
    )
    bank = models.ForeignKey(
        QuestionBank,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="questions",
        verbose_name=_("bank"),
    )
    type = models.CharField(max_length=16, choices=Type.choices, verbose_name=_("type"))
    text = models.TextField(verbose_name=_("text"))
    options = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Choices, for MCQ types; the prompts, for matching."),
        verbose_name=_("options"),
    )
    image = models.ImageField(upload_to=upload_question_image, blank=True, verbose_name=_("image"))
    language = models.CharField(
        max_length=32,
        blank=True,
        help_text=_("Programming language, for code questions."),
        verbose_name=_("language"),
    )
    # A string for MCQ, a list of strings for MCQ-multiple or matching (the prompts' matches),
    # {"value", "tolerance"} for numeric, empty for manually graded types.
    correct_answer = models.JSONField(null=True, blank=True, verbose_name=_("correct answer"))
    points = models.DecimalField(max_digits=6, decimal_places=2, default=1, verbose_name=_("points"))
    explanation = models.TextField(blank=True, verbose_name=_("explanation"))
    order = models.PositiveIntegerField(default=0, verbose_name=_("order"))
    # A bank question's tags; on a draw entry, which of the bank's questions it draws (blank: any).
    topic = models.CharField(max_length=100, blank=True, verbose_name=_("topic"))
    difficulty = models.CharField(
        max_length=8, choices=Difficulty.choices, blank=True, verbose_name=_("difficulty")
    )
    # A draw entry's bank and how many questions each student gets from it.
    draw_from = models.ForeignKey(
        QuestionBank,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="draws",
        verbose_name=_("bank"),
    )
    draw_count = models.PositiveSmallIntegerField(_("questions drawn"), null=True, blank=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["exam", "order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(points__gte=0), name="exams_question_points_nonneg"),
            models.CheckConstraint(
                condition=Q(exam__isnull=False, bank__isnull=True) | Q(exam__isnull=True, bank__isnull=False),
                name="exams_question_in_exam_or_bank",
            ),
            models.CheckConstraint(
                condition=~Q(type="Draw") | Q(exam__isnull=False, draw_from__isnull=False, draw_count__gt=0),
                name="exams_question_draw_complete",
            ),
        ]

    def __str__(self) -> str:
        if self.is_draw:
            return self.draw_summary
        return f"{self.get_type_display()}: {self.text[:60]}"

    @property
    def is_draw(self) -> bool:
        return self.type == self.Type.DRAW

    @property
    def draw_summary(self) -> str:
        """'3 questions from bank "Kinematics", topic vectors, medium'."""
        count = self.draw_count or 0
        bank = self.draw_from.title if self.draw_from_id else "?"
        words = [f'{count} question{"" if count == 1 else "s"} from bank "{bank}"']
        if self.topic:
            words.append(f"topic {self.topic}")
        if self.difficulty:
            words.append(self.get_difficulty_display().lower())
        return ", ".join(words)

    def clean_fields(self, exclude=None) -> None:
        if self.is_draw:
            self.text = self.draw_summary  # a draw has no text of its own: its summary is its name
        super().clean_fields(exclude)

    def clean(self) -> None:
        if self.is_draw:
            self._clean_draw()
            return
        errors: dict[str, str] = {}
        options = self.options or []
        if self.type in self.CHOICE_TYPES:
            if len(options) < 2 or not all(isinstance(o, str) and o.strip() for o in options):
                errors["options"] = _("Give at least two non-empty choices.")
            elif len(set(options)) != len(options):
                errors["options"] = _("Choices must be distinct.")
            elif self.type == self.Type.MCQ and self.correct_answer not in options:
                errors["correct_answer"] = _("The correct answer must be one of the choices.")
            elif self.type == self.Type.MCQ_MULTIPLE and (
                not isinstance(self.correct_answer, list)
                or not self.correct_answer
                or not set(self.correct_answer) <= set(options)
            ):
                errors["correct_answer"] = _("Give a non-empty list of correct choices.")
        elif self.type == self.Type.MATCHING:
            errors |= self._matching_problems(options)
        elif options:
            errors["options"] = _("Only multiple-choice and matching questions have choices.")
        if self.type == self.Type.NUMERIC and (problem := numeric_key_problem(self.correct_answer)):
            errors["correct_answer"] = problem
        if self.type == self.Type.CODE and not self.language:
            errors["language"] = _("Say which language the answer is written in.")
        if self.type == self.Type.IMAGE and not self.image:
            errors["image"] = _("An image question needs an image.")
        if errors:
            raise ValidationError(errors)

    def _clean_draw(self) -> None:
        """A draw needs a bank of its exam's course with enough matching questions, all worth the
        same points (every student's exam is then worth the same); its `points` become theirs."""
        if self.bank_id is not None:
            raise ValidationError({"type": _("A bank's questions cannot draw from a bank.")})
        if self.draw_from_id is None:
            raise ValidationError({"draw_from": _("Choose the bank to draw from.")})
        if not self.draw_count:
            raise ValidationError({"draw_count": _("Say how many questions each student gets (1 or more).")})
        if self.exam_id is not None and self.draw_from.course_id != self.exam.course_id:
            raise ValidationError({"draw_from": _("Draw from a bank of this exam's course.")})
        matching = list(self.draw_candidates().values_list("points", flat=True))
        if self.draw_count > len(matching):
            filters = self._filters_text()
            raise ValidationError(
                {
                    "draw_count": ngettext(
                        'The bank "%(bank)s" has only %(count)d matching question%(filters)s: '
                        "a draw of %(wanted)d per student needs at least that many.",
                        'The bank "%(bank)s" has only %(count)d matching questions%(filters)s: '
                        "a draw of %(wanted)d per student needs at least that many.",
                        len(matching),
                    )
                    % {
                        "bank": self.draw_from.title,
                        "count": len(matching),
                        "filters": f" ({filters})" if filters else "",
                        "wanted": self.draw_count,
                    }
                }
            )
        if len(set(matching)) > 1:
            worth = ", ".join(sorted({f"{p.normalize():f}" for p in matching}, key=float))
            raise ValidationError(
                {
                    "draw_count": _(
                        "The matching questions are worth different points (%(worth)s): "
                        "students would sit exams of different totals. Give them the same points in "
                        "the bank, or narrow the draw by topic or difficulty."
                    )
                    % {"worth": worth}
                }
            )
        self.points = matching[0]
        self.text = self.draw_summary
        self.options, self.correct_answer, self.language = [], None, ""

    def draw_takes(self, question: "Question") -> bool:
        """Would this draw entry give `question` (as draw_candidates, on unsaved values too)?"""
        return (
            question.bank_id is not None
            and question.bank_id == self.draw_from_id
            and not question.is_draw
            and (not self.topic or (question.topic or "").casefold() == self.topic.strip().casefold())
            and (not self.difficulty or question.difficulty == self.difficulty)
        )

    def draw_candidates(self) -> models.QuerySet["Question"]:
        """The bank's questions this draw entry may give a student: its topic and difficulty."""
        if self.draw_from_id is None:
            return Question.objects.none()
        questions = Question.objects.filter(bank_id=self.draw_from_id).exclude(type=self.Type.DRAW)
        if self.topic:
            questions = questions.filter(topic__iexact=self.topic.strip())
        if self.difficulty:
            questions = questions.filter(difficulty=self.difficulty)
        return questions.order_by("order", "id")

    def _filters_text(self) -> str:
        parts = [f"topic {self.topic}"] if self.topic else []
        if self.difficulty:
            parts.append(self.get_difficulty_display().lower())
        return ", ".join(parts)

    def _matching_problems(self, prompts: list) -> dict[str, str]:
        matches = self.correct_answer
        if len(prompts) < 2 or not all(isinstance(p, str) and p.strip() for p in prompts):
            return {"options": _("Give at least two pairs, each with a prompt and its match.")}
        if len(set(prompts)) != len(prompts):
            return {"options": _("Each prompt must be different.")}
        if (
            not isinstance(matches, list)
            or len(matches) != len(prompts)
            or not all(isinstance(m, str) and m.strip() for m in matches)
        ):
            return {"correct_answer": _("Give each prompt its match.")}
        return {}

    @property
    def match_choices(self) -> list[str]:
        """What a student picks from for each prompt of a matching question: every match once,
        in alphabetical order (the pairs' order would give them away)."""
        if self.type != self.Type.MATCHING or not isinstance(self.correct_answer, list):
            return []
        return sorted(set(self.correct_answer), key=str.casefold)


def numeric_key_problem(key) -> str | None:
    """What is wrong with a numeric question's key {"value", "tolerance"}, or None."""

    def is_number(value) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)

    if not isinstance(key, dict) or set(key) != {"value", "tolerance"} or not is_number(key["value"]):
        return _("Give the right number (and a tolerance, 0 for an exact answer).")
    if not is_number(key["tolerance"]) or key["tolerance"] < 0:
        return _("The tolerance must be a number, 0 or more.")
    return None


class Accommodation(models.Model):
    """Per-student adjustments on one exam: more time, or sitting without camera/microphone."""

    exam = models.ForeignKey(
        Exam, on_delete=models.CASCADE, related_name="accommodations", verbose_name=_("exam")
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="accommodations",
        limit_choices_to={"role": "student"},
        verbose_name=_("student"),
    )
    extra_minutes = models.PositiveIntegerField(default=0, verbose_name=_("extra minutes"))
    time_multiplier = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        default=1,
        help_text=_("e.g. 1.25 for 25% more time."),
        verbose_name=_("time multiplier"),
    )
    media_exempt = models.BooleanField(
        _("exempt from camera and microphone"),
        default=False,
        help_text=_("The student sits the exam without media checks; sessions are flagged exempt."),
    )
    media_exempt_reason = models.CharField(max_length=300, blank=True, verbose_name=_("media exempt reason"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("accommodation")
        verbose_name_plural = _("accommodations")
        constraints = [
            models.UniqueConstraint(fields=["exam", "student"], name="exams_accommodation_once"),
            models.CheckConstraint(
                condition=Q(time_multiplier__gte=1) & Q(time_multiplier__lte=4),
                name="exams_accommodation_multiplier_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} on {self.exam}"

    def clean(self) -> None:
        if self.media_exempt and not self.media_exempt_reason.strip():
            raise ValidationError({"media_exempt_reason": _("Record why the student is exempt.")})
