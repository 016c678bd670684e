from django.db import models

from sessions.models import ExamSession


class ProctoringEvent(models.Model):
    """Something noticed during a session: by the student's browser or by the analysis workers."""

    class Type(models.TextChoices):
        # From the reference document
        FACE_NOT_VISIBLE = "face-not-visible"
        MULTIPLE_FACES = "multiple-faces"
        MIC_ACTIVITY = "mic-activity"
        TAB_SWITCH = "tab-switch"
        OFF_SCREEN = "off-screen"
        CHEATING_DETECTED = "cheating-detected"
        SCREENSHOT_CAPTURED = "screenshot-captured"
        # Browser signals
        WINDOW_BLUR = "window-blur"
        FULLSCREEN_EXIT = "fullscreen-exit"
        COPY = "copy"
        CUT = "cut"
        PASTE = "paste"
        RIGHT_CLICK = "right-click"
        PRINT_SCREEN = "print-screen"
        DEVTOOLS_OPEN = "devtools-open"
        SECOND_SCREEN = "second-screen"
        PAGE_LEAVE = "page-leave"
        CAMERA_LOST = "camera-lost"
        MICROPHONE_LOST = "microphone-lost"
        # Server-side analysis
        STREAM_LOST = "stream-lost"
        IDENTITY_MISMATCH = "identity-mismatch"
        CAMERA_BLOCKED = "camera-blocked"
        SPEECH_DETECTED = "speech-detected"
        MULTIPLE_VOICES = "multiple-voices"
        BACKGROUND_NOISE = "background-noise"

    class Severity(models.TextChoices):
        LOW = "low"
        MEDIUM = "medium"
        HIGH = "high"
        CRITICAL = "critical"

    class Source(models.TextChoices):
        CLIENT = "client"
        SERVER = "server"
        PROCTOR = "proctor"

    session = models.ForeignKey(ExamSession, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=32, choices=Type.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.LOW)
    source = models.CharField(max_length=10, choices=Source.choices)
    details = models.JSONField(default=dict, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    occurred_at = models.DateTimeField(help_text="When it happened (client clock for client events).")
    received_at = models.DateTimeField(auto_now_add=True)
    snapshot = models.CharField(max_length=200, blank=True, help_text="Encrypted storage name.")
    # The browser's number for this event: a re-sent event (after a reconnect) is stored once.
    client_seq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["session", "occurred_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "client_seq"],
                condition=models.Q(client_seq__isnull=False),
                name="proctoring_event_client_seq_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} ({self.severity}) in {self.session_id}"
