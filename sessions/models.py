import re
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from exams.models import Exam, Question

# A DNS name or IPv4 address (urlsplit lower-cases it): nothing a CSP source list could misread.
_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?")

# How an attempt whose student's account was deleted names its student.
DELETED_STUDENT = "Deleted account"


class ExamSession(models.Model):
    """One attempt of one student at one exam. Its status only moves forward (see transitions)."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in-progress", _("In progress")
        SUBMITTED = "submitted", _("Submitted")
        EXPIRED = "expired", _("Expired (auto-submitted)")
        # The reference document's name on the wire; the label accuses no one: how it ended (by a
        # proctor, automatically, confirmed by a reviewer) is sessions.outcomes' to say.
        CHEATING_DETECTED = "cheating-detected", _("Ended early")
        LOGGED_OUT = "logged-out", _("Logged out")

    class Grading(models.TextChoices):
        NOT_STARTED = "not-started", _("Not finished yet")
        PENDING = "pending", _("Waiting for manual grading")
        COMPLETE = "complete", _("Graded")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    # Empty once the student's account is deleted: the attempt stays, anonymous, as the school's
    # record of the exam (its score and answers); its proctoring data went with the account
    # (docs/PRIVACY.md, "Deleting an account").
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="exam_sessions",
        verbose_name=_("student"),
    )
    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="sessions", verbose_name=_("exam"))
    attempt = models.PositiveSmallIntegerField(verbose_name=_("attempt"))
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.IN_PROGRESS, verbose_name=_("status")
    )
    started_at = models.DateTimeField(verbose_name=_("started at"))
    deadline = models.DateTimeField(verbose_name=_("deadline"))
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ended at"))
    end_reason = models.CharField(max_length=300, blank=True, verbose_name=_("end reason"))
    # Question ids in the order this attempt shows them; fixed at start, so reloads agree.
    question_order = models.JSONField(default=list, verbose_name=_("question order"))
    # The questions drawn for this attempt from banks, fixed at start: {draw entry id (an exam
    # question of type "Draw"): [bank question ids, in the order drawn]}. They are in
    # question_order too; this says which draw gave which, for numbering and reports.
    drawn_questions = models.JSONField(default=dict, blank=True, verbose_name=_("drawn questions"))
    media_exempt = models.BooleanField(default=False, verbose_name=_("media exempt"))
    # Proctoring outcome so far (proctoring.risk): 0..100, and whether a proctor should look.
    risk_score = models.FloatField(default=0, verbose_name=_("risk score"))
    flagged = models.BooleanField(default=False, verbose_name=_("flagged"))
    final_score = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True, verbose_name=_("final score")
    )
    max_score = models.DecimalField(max_digits=8, decimal_places=2, default=0, verbose_name=_("max score"))
    grading = models.CharField(
        max_length=12, choices=Grading.choices, default=Grading.NOT_STARTED, verbose_name=_("grading")
    )
    graded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("graded by"),
    )
    graded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("graded at"))
    # What the browser told us at start: shown to proctors, kept for reports.
    browser_info = models.JSONField(default=dict, blank=True, verbose_name=_("browser info"))
    ip = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("ip"))
    user_agent = models.CharField(max_length=400, blank=True, verbose_name=_("user agent"))
    screen_resolution = models.CharField(max_length=32, blank=True, verbose_name=_("screen resolution"))
    room_scan = models.CharField(
        max_length=200, blank=True, help_text=_("Encrypted storage name."), verbose_name=_("room scan")
    )
    screen_recording = models.CharField(max_length=200, blank=True, verbose_name=_("screen recording"))
    # When the student was e-mailed that this attempt's results are out (sessions.results): each
    # attempt is told once, whichever way its results came out (released, graded after release).
    results_notified_at = models.DateTimeField(null=True, blank=True, verbose_name=_("results notified at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("exam session")
        verbose_name_plural = _("exam sessions")
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
        indexes = [
            models.Index(fields=["status", "deadline"]),
            # Beat's sweep for graded attempts whose student has not been told of their results.
            models.Index(
                fields=["exam"],
                condition=Q(results_notified_at__isnull=True, grading="complete"),
                name="exam_sessions_results_untold",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student or DELETED_STUDENT} · {self.exam} · attempt {self.attempt}"

    @property
    def is_in_progress(self) -> bool:
        return self.status == self.Status.IN_PROGRESS

    @property
    def student_name(self) -> str:
        """Who sat it, as pages and reports name them; the account may have been deleted since."""
        return self.student.display_name if self.student is not None else DELETED_STUDENT


class ResultsRelease(models.Model):
    """When an exam's results reach its students: at once, or at a time a teacher chose.

    Released results are the exam's `show_results` setting (the reference's showResults); this
    row says when and by whom, and holds a release still to come until beat carries it out
    (sessions.results).
    """

    exam = models.OneToOneField(
        Exam, on_delete=models.CASCADE, related_name="results_release", verbose_name=_("exam")
    )
    release_at = models.DateTimeField(verbose_name=_("release at"))
    released_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Empty: still to come."), verbose_name=_("released at")
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("results release")
        verbose_name_plural = _("results releases")
        indexes = [
            models.Index(
                fields=["release_at"], condition=Q(released_at__isnull=True), name="exam_sessions_release_due"
            )
        ]

    def __str__(self) -> str:
        state = "released" if self.released_at else "to be released"
        return f"results of {self.exam} {state} at {self.release_at:%Y-%m-%d %H:%M}"


class Answer(models.Model):
    session = models.ForeignKey(
        ExamSession, on_delete=models.CASCADE, related_name="answers", verbose_name=_("session")
    )
    question = models.ForeignKey(
        Question, on_delete=models.PROTECT, related_name="answers", verbose_name=_("question")
    )
    response = models.JSONField(null=True, blank=True, verbose_name=_("response"))
    # The client's counter for this answer: a save carrying a lower number arrived late and
    # must not overwrite what the student typed after it.
    client_seq = models.BigIntegerField(default=0, verbose_name=_("client seq"))
    time_spent_seconds = models.PositiveIntegerField(default=0, verbose_name=_("time spent seconds"))
    score = models.DecimalField(
        max_digits=6, decimal_places=2, null=True, blank=True, verbose_name=_("score")
    )
    feedback = models.TextField(blank=True, verbose_name=_("feedback"))
    graded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("graded by"),
    )
    graded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("graded at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        ordering = ["session", "question__order"]
        constraints = [
            models.UniqueConstraint(fields=["session", "question"], name="exam_sessions_answer_once")
        ]

    def __str__(self) -> str:
        return f"answer to {self.question_id} in {self.session_id}"


class ExamConsent(models.Model):
    """The student accepted the privacy notice for this exam (what is captured, who sees it)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="consents", verbose_name=_("exam"))
    notice_version = models.CharField(max_length=16, verbose_name=_("notice version"))
    # The notice accepted said the student's screen is captured: an exam that turns screen capture
    # on afterwards needs the student's consent again (sessions.readiness).
    screen_capture = models.BooleanField(default=False, verbose_name=_("screen capture"))
    accepted_at = models.DateTimeField(auto_now_add=True, verbose_name=_("accepted at"))

    class Meta:
        verbose_name = _("exam consent")
        verbose_name_plural = _("exam consents")
        constraints = [models.UniqueConstraint(fields=["user", "exam"], name="exam_sessions_consent_once")]

    def __str__(self) -> str:
        return f"{self.user} consented to {self.exam}"


class SystemCheck(models.Model):
    """A pre-test check as the student's browser reported it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    exam = models.ForeignKey(
        Exam, on_delete=models.CASCADE, related_name="system_checks", verbose_name=_("exam")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    items = models.JSONField(default=dict, verbose_name=_("items"))
    measurements = models.JSONField(default=dict, verbose_name=_("measurements"))
    required = models.JSONField(default=list, verbose_name=_("required"))
    passed = models.BooleanField(verbose_name=_("passed"))

    class Meta:
        verbose_name = _("system check")
        verbose_name_plural = _("system checks")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"system check of {self.user} for {self.exam}: {'passed' if self.passed else 'failed'}"


class IdentityCheck(models.Model):
    """A webcam capture compared with the student's verified ID photo before an exam."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    exam = models.ForeignKey(
        Exam, on_delete=models.CASCADE, related_name="identity_checks", verbose_name=_("exam")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    capture = models.CharField(
        max_length=200, help_text=_("Encrypted storage name."), verbose_name=_("capture")
    )
    distance = models.FloatField(verbose_name=_("distance"))
    threshold = models.FloatField(verbose_name=_("threshold"))
    passed = models.BooleanField(verbose_name=_("passed"))

    class Meta:
        verbose_name = _("identity check")
        verbose_name_plural = _("identity checks")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"identity check of {self.user} for {self.exam}: {'passed' if self.passed else 'failed'}"


class RoomScanUpload(models.Model):
    """A room-scan video arriving in chunks; on the last one it becomes session.room_scan."""

    session = models.OneToOneField(
        ExamSession, on_delete=models.CASCADE, related_name="room_scan_upload", verbose_name=_("session")
    )
    recording_id = models.CharField(max_length=64, blank=True, verbose_name=_("recording id"))
    chunks = models.JSONField(
        default=list, help_text=_("Encrypted storage names, in order."), verbose_name=_("chunks")
    )
    received_bytes = models.PositiveBigIntegerField(default=0, verbose_name=_("received bytes"))
    complete = models.BooleanField(default=False, verbose_name=_("complete"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("room scan upload")
        verbose_name_plural = _("room scan uploads")

    def __str__(self) -> str:
        return f"room scan of {self.session_id} ({self.received_bytes} bytes)"


class PreExamRoomScan(models.Model):
    """A room-scan video recorded before the exam starts (high security), arriving in chunks.

    One per student and exam at a time. `chunks`, `received_bytes` and `complete` are the upload
    under way (or last done); `video` and `completed_at` the last finished recording, which a new
    recording replaces only once it is complete. Starting the exam moves the finished video to
    the new attempt (ExamSession.room_scan) and deletes this row, so the clock starts after the
    scan (sessions.room_scan)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    exam = models.ForeignKey(
        Exam, on_delete=models.CASCADE, related_name="pre_exam_room_scans", verbose_name=_("exam")
    )
    recording_id = models.CharField(max_length=64, blank=True, verbose_name=_("recording id"))
    chunks = models.JSONField(
        default=list, help_text=_("Encrypted storage names, in order."), verbose_name=_("chunks")
    )
    received_bytes = models.PositiveBigIntegerField(default=0, verbose_name=_("received bytes"))
    complete = models.BooleanField(default=False, verbose_name=_("complete"))
    video = models.CharField(
        max_length=200,
        blank=True,
        help_text=_("Encrypted storage name, once complete."),
        verbose_name=_("video"),
    )
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("pre exam room scan")
        verbose_name_plural = _("pre exam room scans")
        constraints = [
            models.UniqueConstraint(fields=["user", "exam"], name="exam_sessions_one_pre_exam_room_scan"),
        ]

    def __str__(self) -> str:
        return f"room scan of {self.user} before {self.exam} ({self.received_bytes} bytes)"


class Admission(models.Model):
    """A student's request to start an exam that needs a proctor's admission, and its decision.

    An admission lets the student start one attempt within a short time of the decision (see
    sessions.admissions); `session` records the attempt that used it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a proctor")
        ADMITTED = "admitted", _("Admitted")
        DENIED = "denied", _("Denied")

    exam = models.ForeignKey(
        Exam, on_delete=models.CASCADE, related_name="admissions", verbose_name=_("exam")
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("student")
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    requested_at = models.DateTimeField(verbose_name=_("requested at"))
    # The identity check the proctor saw when deciding (none on exams that do not need one).
    identity_check = models.ForeignKey(
        IdentityCheck,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("identity check"),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("decided at"))
    reason = models.CharField(
        max_length=300, blank=True, help_text=_("Shown to the student when denied."), verbose_name=_("reason")
    )
    session = models.OneToOneField(
        ExamSession,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="admission",
        verbose_name=_("session"),
    )

    class Meta:
        verbose_name = _("admission")
        verbose_name_plural = _("admissions")
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


# --- LTI 1.3: the LMSs that launch Procto (sessions.lti) ------------------------------------------
# Here rather than in exams or accounts because a launch needs users, courses and (with Assignment
# and Grade Services) the sessions' grades.


class LtiPlatform(models.Model):
    """An LMS registered to launch Procto (Moodle, Canvas…): what it told us when we registered."""

    name = models.CharField(
        max_length=200, help_text=_("e.g. Moodle of Example University."), verbose_name=_("name")
    )
    issuer = models.CharField(
        max_length=255,
        help_text=_("The platform's issuer (iss), e.g. https://moodle.example.edu"),
        verbose_name=_("issuer"),
    )
    client_id = models.CharField(
        max_length=255, help_text=_("The client id the platform gave Procto."), verbose_name=_("client id")
    )
    auth_login_url = models.URLField(
        max_length=500,
        help_text=_("The platform's OIDC authentication URL."),
        verbose_name=_("auth login url"),
    )
    auth_token_url = models.URLField(
        max_length=500,
        help_text=_("The platform's OAuth 2 access token URL."),
        verbose_name=_("auth token url"),
    )
    auth_audience = models.CharField(
        max_length=500,
        blank=True,
        help_text=_("Audience of token requests, when not the token URL."),
        verbose_name=_("auth audience"),
    )
    key_set_url = models.URLField(
        max_length=500,
        blank=True,
        help_text=_("The platform's public keyset (JWKS) URL, fetched at each launch."),
        verbose_name=_("key set url"),
    )
    key_set = models.JSONField(
        null=True,
        blank=True,
        help_text=_('The platform\'s JWKS ({"keys": [...]}) when it has no URL.'),
        verbose_name=_("key set"),
    )
    is_active = models.BooleanField(
        default=True, help_text=_("Inactive platforms cannot launch Procto."), verbose_name=_("is active")
    )
    links_accounts_by_email = models.BooleanField(
        _("link accounts by e-mail"),
        default=False,
        help_text=_(
            "Sign a first launch into the existing Procto account with the same e-mail (and "
            "role). Only for an LMS whose users cannot change their own address unconfirmed: "
            "otherwise an LMS user could take over someone's Procto account by claiming its address."
        ),
    )
    frame_origins = models.TextField(
        _("more frame origins"),
        blank=True,
        help_text=_(
            "Addresses (https://host, one per line) the LMS shows its pages at, when they are "
            "neither the issuer's nor the auth login URL's, e.g. https://school.instructure.com for "
            "Canvas. Only these origins may show Procto inside their pages (an iframe)."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name_plural = _("LTI platforms")
        verbose_name = _("LTI platform")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "client_id"], name="exam_sessions_lti_platform_once"),
            models.CheckConstraint(
                condition=~Q(key_set_url="") | Q(key_set__isnull=False),
                name="exam_sessions_lti_platform_has_keys",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        lines = self.frame_origins.split()
        wrong = [line for line in lines if origin_of(line) != line.rstrip("/").lower()]
        if wrong:
            message = _("Not an origin (https://host or https://host:port, nothing after it): %(wrong)s") % {
                "wrong": ", ".join(wrong)
            }
            raise ValidationError({"frame_origins": message})
        self.frame_origins = "\n".join(dict.fromkeys(origin_of(line) for line in lines))

    @property
    def frame_ancestors(self) -> list[str]:
        """The origins that may frame Procto's pages for this LMS (CSP frame-ancestors): its
        issuer's and auth login URL's, when they are web addresses, and the extra ones entered."""
        candidates = [self.issuer, self.auth_login_url, *self.frame_origins.split()]
        return list(dict.fromkeys(origin for origin in map(origin_of, candidates) if origin))


def origin_of(url: str) -> str | None:
    """scheme://host[:port] of an http(s) URL, or None (a bare name, another scheme, a host with
    characters a CSP source could not carry)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host or not _HOST.fullmatch(host):
        return None
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


class LtiDeployment(models.Model):
    """A deployment of Procto on a platform (a site-wide or course-level installation)."""

    platform = models.ForeignKey(
        LtiPlatform, on_delete=models.CASCADE, related_name="deployments", verbose_name=_("platform")
    )
    deployment_id = models.CharField(max_length=255, verbose_name=_("deployment id"))

    class Meta:
        verbose_name_plural = _("LTI deployments")
        verbose_name = _("LTI deployment")
        ordering = ["platform", "deployment_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "deployment_id"], name="exam_sessions_lti_deployment_once"
            )
        ]

    def __str__(self) -> str:
        return self.deployment_id


class LtiToolKey(models.Model):
    """One of Procto's own RSA keys (sessions.lti.keys): the newest signs, all are published at
    /lti/jwks until removed, so platforms that cached an older one keep verifying."""

    kid = models.CharField(_("key id"), max_length=64, unique=True, editable=False)
    # The PEM private key, AES-GCM encrypted with ENCRYPTION_KEY (procto.crypto), bound to the kid.
    private_key = models.BinaryField(editable=False, verbose_name=_("private key"))
    public_jwk = models.JSONField(editable=False, verbose_name=_("public jwk"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name_plural = _("LTI tool keys")
        verbose_name = _("LTI tool key")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.kid


class LtiUser(models.Model):
    """Who a platform's user (its `sub`) is in Procto."""

    platform = models.ForeignKey(
        LtiPlatform, on_delete=models.CASCADE, related_name="+", verbose_name=_("platform")
    )
    sub = models.CharField(max_length=255, verbose_name=_("sub"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lti_links", verbose_name=_("user")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name_plural = _("LTI users")
        verbose_name = _("LTI user")
        constraints = [
            models.UniqueConstraint(fields=["platform", "sub"], name="exam_sessions_lti_user_once"),
        ]

    def __str__(self) -> str:
        return f"{self.sub} → {self.user}"


class LtiContext(models.Model):
    """An LMS course and the Procto course it maps to (made on its first Instructor launch)."""

    platform = models.ForeignKey(
        LtiPlatform, on_delete=models.CASCADE, related_name="+", verbose_name=_("platform")
    )
    context_id = models.CharField(max_length=255, verbose_name=_("context id"))
    title = models.CharField(max_length=255, blank=True, verbose_name=_("title"))
    course = models.ForeignKey(
        "exams.Course",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="lti_contexts",
        verbose_name=_("course"),
    )
    # Names and Role Provisioning: where the platform serves the course's roster (from launches).
    memberships_url = models.URLField(max_length=1000, blank=True, verbose_name=_("memberships url"))
    roster_synced_at = models.DateTimeField(null=True, blank=True, verbose_name=_("roster synced at"))

    class Meta:
        verbose_name_plural = _("LTI contexts")
        verbose_name = _("LTI context")
        constraints = [
            models.UniqueConstraint(fields=["platform", "context_id"], name="exam_sessions_lti_context_once")
        ]

    def __str__(self) -> str:
        return self.title or self.context_id


class LtiResourceLink(models.Model):
    """A link placed in an LMS course, and the Procto exam it opens."""

    platform = models.ForeignKey(
        LtiPlatform, on_delete=models.CASCADE, related_name="+", verbose_name=_("platform")
    )
    resource_link_id = models.CharField(max_length=255, verbose_name=_("resource link id"))
    context = models.ForeignKey(
        LtiContext,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="links",
        verbose_name=_("context"),
    )
    title = models.CharField(max_length=255, blank=True, verbose_name=_("title"))
    exam = models.ForeignKey(
        Exam,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="lti_links",
        verbose_name=_("exam"),
    )
    # Assignment and Grade Services: the gradebook column scores go to (from launches that grant
    # the score scope).
    lineitem_url = models.URLField(max_length=1000, blank=True, verbose_name=_("lineitem url"))

    class Meta:
        verbose_name_plural = _("LTI resource links")
        verbose_name = _("LTI resource link")
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "resource_link_id"], name="exam_sessions_lti_resource_link_once"
            )
        ]

    def __str__(self) -> str:
        return self.title or self.resource_link_id


class LtiScoreDelivery(models.Model):
    """A session's final score on its way to one LMS gradebook column (Assignment and Grade
    Services): written when grading completes (again on a regrade), then delivered by
    sessions.lti.grades, which retries while the LMS is down and says here how it went."""

    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting to be sent")
        DELIVERED = "delivered", _("In the LMS gradebook")
        REFUSED = "refused", _("Refused by the LMS")
        GIVEN_UP = "given-up", _("Given up (the LMS stayed unreachable)")

    session = models.ForeignKey(
        ExamSession, on_delete=models.CASCADE, related_name="lti_scores", verbose_name=_("session")
    )
    link = models.ForeignKey(
        LtiResourceLink, on_delete=models.CASCADE, related_name="score_deliveries", verbose_name=_("link")
    )
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.WAITING, verbose_name=_("state")
    )
    score_given = models.DecimalField(max_digits=8, decimal_places=2, verbose_name=_("score given"))
    score_maximum = models.DecimalField(max_digits=8, decimal_places=2, verbose_name=_("score maximum"))
    scored_at = models.DateTimeField(
        help_text=_("The score's timestamp sent to the LMS."), verbose_name=_("scored at")
    )
    # Bumped when what is to be sent changes (a regrade, a retry asked for): a post of an older
    # revision that finishes late never overwrites the newer one's state.
    revision = models.PositiveIntegerField(default=1, verbose_name=_("revision"))
    attempts = models.PositiveIntegerField(
        default=0, help_text=_("Posts tried for this score."), verbose_name=_("attempts")
    )
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Empty: no attempt planned."), verbose_name=_("next attempt at")
    )
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("LTI score delivery")
        verbose_name_plural = _("LTI score deliveries")
        constraints = [
            models.UniqueConstraint(fields=["session", "link"], name="exam_sessions_lti_score_once"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="waiting"),
                name="exam_sessions_lti_score_due",
            )
        ]

    def __str__(self) -> str:
        return f"score of {self.session_id} to {self.link}: {self.get_state_display()}"
