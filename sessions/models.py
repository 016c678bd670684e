import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from exams.models import Exam, Question


class ExamSession(models.Model):
    """One attempt of one student at one exam. Its status only moves forward (see transitions)."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in-progress", "In progress"
        SUBMITTED = "submitted", "Submitted"
        EXPIRED = "expired", "Expired (auto-submitted)"
        CHEATING_DETECTED = "cheating-detected", "Terminated for cheating"
        LOGGED_OUT = "logged-out", "Logged out"

    class Grading(models.TextChoices):
        NOT_STARTED = "not-started", "Not finished yet"
        PENDING = "pending", "Waiting for manual grading"
        COMPLETE = "complete", "Graded"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="exam_sessions"
    )
    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="sessions")
    attempt = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_PROGRESS)
    started_at = models.DateTimeField()
    deadline = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=300, blank=True)
    # Question ids in the order this attempt shows them; fixed at start, so reloads agree.
    question_order = models.JSONField(default=list)
    media_exempt = models.BooleanField(default=False)
    # Proctoring outcome so far (proctoring.risk): 0..100, and whether a proctor should look.
    risk_score = models.FloatField(default=0)
    flagged = models.BooleanField(default=False)
    final_score = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    max_score = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    grading = models.CharField(max_length=12, choices=Grading.choices, default=Grading.NOT_STARTED)
    graded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    graded_at = models.DateTimeField(null=True, blank=True)
    # What the browser told us at start: shown to proctors, kept for reports.
    browser_info = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    screen_resolution = models.CharField(max_length=32, blank=True)
    room_scan = models.CharField(max_length=200, blank=True, help_text="Encrypted storage name.")
    screen_recording = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "exam", "attempt"], name="exam_sessions_one_row_per_attempt"
            ),
            # Two concurrent starts cannot both open a session: the second insert fails here.
            models.UniqueConstraint(
                fields=["student", "exam"],
                condition=Q(status="in-progress"),
                name="exam_sessions_one_in_progress",
            ),
        ]
        indexes = [models.Index(fields=["status", "deadline"])]

    def __str__(self) -> str:
        return f"{self.student} · {self.exam} · attempt {self.attempt}"

    @property
    def is_in_progress(self) -> bool:
        return self.status == self.Status.IN_PROGRESS


class Answer(models.Model):
    session = models.ForeignKey(ExamSession, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    response = models.JSONField(null=True, blank=True)
    # The client's counter for this answer: a save carrying a lower number arrived late and
    # must not overwrite what the student typed after it.
    client_seq = models.BigIntegerField(default=0)
    time_spent_seconds = models.PositiveIntegerField(default=0)
    score = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    feedback = models.TextField(blank=True)
    graded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    graded_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["session", "question__order"]
        constraints = [
            models.UniqueConstraint(fields=["session", "question"], name="exam_sessions_answer_once")
        ]

    def __str__(self) -> str:
        return f"answer to {self.question_id} in {self.session_id}"


class ExamConsent(models.Model):
    """The student accepted the privacy notice for this exam (what is captured, who sees it)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="consents")
    notice_version = models.CharField(max_length=16)
    accepted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "exam"], name="exam_sessions_consent_once")]

    def __str__(self) -> str:
        return f"{self.user} consented to {self.exam}"


class SystemCheck(models.Model):
    """A pre-test check as the student's browser reported it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="system_checks")
    created_at = models.DateTimeField(auto_now_add=True)
    items = models.JSONField(default=dict)
    measurements = models.JSONField(default=dict)
    required = models.JSONField(default=list)
    passed = models.BooleanField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"system check of {self.user} for {self.exam}: {'passed' if self.passed else 'failed'}"


class IdentityCheck(models.Model):
    """A webcam capture compared with the student's verified ID photo before an exam."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="identity_checks")
    created_at = models.DateTimeField(auto_now_add=True)
    capture = models.CharField(max_length=200, help_text="Encrypted storage name.")
    distance = models.FloatField()
    threshold = models.FloatField()
    passed = models.BooleanField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"identity check of {self.user} for {self.exam}: {'passed' if self.passed else 'failed'}"


class RoomScanUpload(models.Model):
    """A room-scan video arriving in chunks; on the last one it becomes session.room_scan."""

    session = models.OneToOneField(ExamSession, on_delete=models.CASCADE, related_name="room_scan_upload")
    recording_id = models.CharField(max_length=64, blank=True)
    chunks = models.JSONField(default=list, help_text="Encrypted storage names, in order.")
    received_bytes = models.PositiveBigIntegerField(default=0)
    complete = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"room scan of {self.session_id} ({self.received_bytes} bytes)"


class Admission(models.Model):
    """A student's request to start an exam that needs a proctor's admission, and its decision.

    An admission lets the student start one attempt within a short time of the decision (see
    sessions.admissions); `session` records the attempt that used it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a proctor"
        ADMITTED = "admitted", "Admitted"
        DENIED = "denied", "Denied"

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="admissions")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField()
    # The identity check the proctor saw when deciding (none on exams that do not need one).
    identity_check = models.ForeignKey(
        IdentityCheck, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True, help_text="Shown to the student when denied.")
    session = models.OneToOneField(
        ExamSession, on_delete=models.SET_NULL, null=True, blank=True, related_name="admission"
    )

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            # Two concurrent requests cannot both queue: the second insert fails here.
            models.UniqueConstraint(
                fields=["exam", "student"],
                condition=Q(status="pending"),
                name="exam_sessions_one_pending_admission",
            ),
        ]
        indexes = [models.Index(fields=["exam", "status"])]

    def __str__(self) -> str:
        return f"admission of {self.student} to {self.exam}: {self.status}"
