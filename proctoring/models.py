from django.db import models
from django.utils.translation import gettext_lazy as _

from proctoring import conditions
from sessions.models import ExamSession


class ProctoringEvent(models.Model):
    """Something noticed during a session: by the student's browser or by the analysis workers."""

    # One member per condition of the registry (TAB_SWITCH = "tab-switch", labelled as the monitor
    # shows it): a condition added there is a type here (and a migration of the choices).
    Type = models.TextChoices(
        "Type",
        [(c.type.upper().replace("-", "_"), (c.type, _(c.label))) for c in conditions.CONDITIONS.values()],
    )

    Severity = models.TextChoices("Severity", [(s.name, s.value) for s in conditions.Severity])

    class Source(models.TextChoices):
        CLIENT = "client"
        SERVER = "server"
        PROCTOR = "proctor"

    session = models.ForeignKey(
        ExamSession, on_delete=models.CASCADE, related_name="events", verbose_name=_("session")
    )
    type = models.CharField(max_length=32, choices=Type.choices, verbose_name=_("type"))
    severity = models.CharField(
        max_length=10, choices=Severity.choices, default=Severity.LOW, verbose_name=_("severity")
    )
    source = models.CharField(max_length=10, choices=Source.choices, verbose_name=_("source"))
    details = models.JSONField(default=dict, blank=True, verbose_name=_("details"))
    confidence = models.FloatField(null=True, blank=True, verbose_name=_("confidence"))
    occurred_at = models.DateTimeField(
        help_text=_("When it started (client clock for client events)."), verbose_name=_("occurred at")
    )
    ended_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When a lasting condition ended."), verbose_name=_("ended at")
    )
    received_at = models.DateTimeField(auto_now_add=True, verbose_name=_("received at"))
    snapshot = models.CharField(
        max_length=200, blank=True, help_text=_("Encrypted storage name."), verbose_name=_("snapshot")
    )
    # The browser's number for this event: a re-sent event (after a reconnect) is stored once.
    client_seq = models.BigIntegerField(null=True, blank=True, verbose_name=_("client seq"))
    # Server events: "<type>:<kind>:<seq>" of the media that opened it; a redelivered task that
    # opens the same event again finds this one instead.
    analysis_key = models.CharField(max_length=64, blank=True, verbose_name=_("analysis key"))
    # An alert is "open" until a proctor confirms or dismisses it; a record (an info event such as
    # a page reload) is "none": there is nothing to review.
    review_status = models.CharField(
        max_length=10,
        choices=[
            ("open", _("Open")),
            ("confirmed", _("Confirmed")),
            ("dismissed", _("Dismissed")),
            ("none", _("Not an alert")),
        ],
        default="open",
        verbose_name=_("review status"),
    )
    reviewed_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("reviewed at"))
    review_reason = models.CharField(max_length=300, blank=True, verbose_name=_("review reason"))

    class Meta:
        verbose_name = _("proctoring event")
        verbose_name_plural = _("proctoring events")
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["session", "occurred_at"]),
            # The departures still waiting to be told from reloads (proctoring.services), read
            # every few seconds: a handful of rows, never a scan of the whole table.
            models.Index(
                fields=["received_at"],
                condition=models.Q(type="page-leave", review_status="none"),
                name="proctoring_event_departing",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "client_seq"],
                condition=models.Q(client_seq__isnull=False),
                name="proctoring_event_client_seq_once",
            ),
            models.UniqueConstraint(
                fields=["session", "analysis_key"],
                condition=~models.Q(analysis_key=""),
                name="proctoring_event_analysis_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} ({self.severity}) in {self.session_id}"

    @property
    def duration_seconds(self) -> float:
        return (self.ended_at - self.occurred_at).total_seconds() if self.ended_at else 0.0


class ProctorAction(models.Model):
    """Every proctor decision, for the audit trail: who did what to which session, and when. Also
    who took a copy of the session's record (an export), since it holds the student's data."""

    class Kind(models.TextChoices):
        WARN = "warn", _("Warned the student")
        TERMINATE = "terminate", _("Ended the session")
        NOTE = "note", _("Added a note")
        EXTEND_TIME = "extend-time", _("Extended the time")
        REVIEW_ALERT = "review-alert", _("Reviewed an alert")
        EXPORT = "export", _("Exported the record")

    session = models.ForeignKey(
        ExamSession, on_delete=models.CASCADE, related_name="proctor_actions", verbose_name=_("session")
    )
    actor = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("actor")
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    details = models.JSONField(default=dict, blank=True, verbose_name=_("details"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("proctor action")
        verbose_name_plural = _("proctor actions")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.actor} {self.kind} on {self.session_id}"


class MediaSample(models.Model):
    """One point of a session's media time series, for the review page's chart: how many faces a
    frame showed, or how loud a second of microphone audio was. Sampled (proctoring.media_series),
    not one row per frame."""

    class Kind(models.TextChoices):
        FRAME = "frame"
        AUDIO = "audio"

    session = models.ForeignKey(
        ExamSession, on_delete=models.CASCADE, related_name="media_samples", verbose_name=_("session")
    )
    kind = models.CharField(max_length=5, choices=Kind.choices, verbose_name=_("kind"))
    at = models.DateTimeField(verbose_name=_("at"))
    face_count = models.IntegerField(null=True, blank=True, verbose_name=_("face count"))
    level_dbfs = models.FloatField(null=True, blank=True, verbose_name=_("level dbfs"))

    class Meta:
        verbose_name = _("media sample")
        verbose_name_plural = _("media samples")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["session", "at"])]

    def __str__(self) -> str:
        return f"{self.kind} sample of {self.session_id} at {self.at:%H:%M:%S}"
