import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from timezone_field import TimeZoneField


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email: str) -> "User":
        # Logins are case-insensitive, matching the case-insensitive uniqueness constraint.
        return self.get(email__iexact=email)

    def _create(self, email: str, password: str | None, **fields) -> "User":
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        fields.setdefault("role", User.Role.STUDENT)
        fields.setdefault("is_staff", fields["role"] in User.STAFF_ROLES)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(role=User.Role.ADMIN, is_staff=True, is_superuser=True)
        return self._create(email, password, **fields)


class User(AbstractUser):
    class Role(models.TextChoices):
        STUDENT = "student", _("Student")
        TEACHER = "teacher", _("Teacher")
        PROCTOR = "proctor", _("Proctor")
        ADMIN = "admin", _("Administrator")

    # Teachers author exams in the Django admin, so they are staff like administrators.
    STAFF_ROLES = frozenset({Role.TEACHER, Role.ADMIN})

    username = None
    email = models.EmailField(_("e-mail address"), unique=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STUDENT, verbose_name=_("role"))
    institution = models.CharField(max_length=200, blank=True, verbose_name=_("institution"))
    # Storage names of AES-GCM encrypted JPEGs (procto.encrypted_files), never public URLs.
    photo = models.CharField(max_length=200, blank=True, editable=False, verbose_name=_("photo"))
    id_card = models.CharField(_("ID card"), max_length=200, blank=True, editable=False)
    # The verified face's dlib embedding, encrypted: compared with webcam frames during exams.
    face_embedding = models.BinaryField(
        null=True, blank=True, editable=False, verbose_name=_("face embedding")
    )
    is_verified = models.BooleanField(
        default=False,
        help_text=_("Identity verified against the ID card photo."),
        verbose_name=_("is verified"),
    )
    verified_at = models.DateTimeField(null=True, blank=True, verbose_name=_("verified at"))
    # Where the user reads times (procto.local_time). Empty until the first page they load, which
    # fills it from their browser (accounts.middleware.TimeZoneMiddleware); editable on the profile.
    # Stored as "" when none, read as None.
    time_zone = TimeZoneField(blank=True, default="", verbose_name=_("time zone"))
    # The language Procto speaks to the user (pages, API messages, e-mails, the PDF): one of
    # settings.LANGUAGES, set on the profile or by the header's picker. Empty: the browser's
    # (accounts.middleware.UserLanguageMiddleware).
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, blank=True, default=""
    )
    # Part of every token; bumping it (logout everywhere, password change) revokes them all.
    token_version = models.PositiveIntegerField(default=0, verbose_name=_("token version"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def language_code(self) -> str:
        """The language to write to this user in when no request says (e-mails, worker messages):
        their own if Procto still speaks it, else the site's default."""
        return self.language if self.language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email

    def set_password(self, raw_password: str | None) -> None:
        # Every way of changing a password (page, reset, admin, API) ends every token and socket.
        super().set_password(raw_password)
        if self.pk is not None:
            self.token_version += 1
            self._password_changed = True


class TokenFamily(models.Model):
    """One API login: the chain of refresh tokens issued from it, revoked as a whole."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="token_families",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    last_used_at = models.DateTimeField(auto_now_add=True, verbose_name=_("last used at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    revoked_reason = models.CharField(max_length=64, blank=True, verbose_name=_("revoked reason"))
    ip = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("ip"))
    user_agent = models.CharField(max_length=300, blank=True, verbose_name=_("user agent"))

    class Meta:
        verbose_name = _("token family")
        verbose_name_plural = _("token families")
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"login {self.id} of {self.user_id}"


class RefreshToken(models.Model):
    """A refresh token's server-side record: each works once, then only its successor does."""

    jti = models.UUIDField(primary_key=True, editable=False, verbose_name=_("jti"))
    family = models.ForeignKey(
        TokenFamily, on_delete=models.CASCADE, related_name="tokens", verbose_name=_("family")
    )
    issued_at = models.DateTimeField(verbose_name=_("issued at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("used at"))

    class Meta:
        verbose_name = _("refresh token")
        verbose_name_plural = _("refresh tokens")

    def __str__(self) -> str:
        return str(self.jti)


class IdentityVerification(models.Model):
    """One attempt to prove identity: face photo vs ID card (and a live capture), with a decision."""

    class Outcome(models.TextChoices):
        MATCH = "match", _("Faces match")
        MISMATCH = "mismatch", _("Faces do not match")

    class Review(models.TextChoices):
        AUTOMATIC = "automatic", _("Decided automatically")
        PENDING = "pending", _("Waiting for a reviewer")
        APPROVED = "approved", _("Approved by a reviewer")
        REJECTED = "rejected", _("Rejected by a reviewer")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="verifications",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    photo = models.CharField(max_length=200, editable=False, verbose_name=_("photo"))
    id_card = models.CharField(max_length=200, editable=False, verbose_name=_("id card"))
    live_capture = models.CharField(
        max_length=200, blank=True, editable=False, verbose_name=_("live capture")
    )
    photo_id_distance = models.FloatField(verbose_name=_("photo id distance"))
    photo_live_distance = models.FloatField(null=True, blank=True, verbose_name=_("photo live distance"))
    threshold = models.FloatField(verbose_name=_("threshold"))
    outcome = models.CharField(max_length=16, choices=Outcome.choices, verbose_name=_("outcome"))
    review = models.CharField(max_length=16, choices=Review.choices, verbose_name=_("review"))
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("reviewed at"))
    review_reason = models.CharField(max_length=300, blank=True, verbose_name=_("review reason"))

    class Meta:
        verbose_name = _("identity verification")
        verbose_name_plural = _("identity verifications")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user} {self.get_outcome_display()} ({self.get_review_display()})"


class AuditEntry(models.Model):
    """One sensitive operation, for the audit trail: logins, role changes, what is done with a
    person's data (exports, purges, deletions), answer keys changed and sessions regraded. Kept
    apart from the users it names: deleting an account empties `actor`/`target` but keeps the
    entry (ids only, no names)."""

    class Action(models.TextChoices):
        LOGIN = "login", _("Signed in")
        LOGOUT = "logout", _("Signed out")
        ROLE_CHANGE = "role-change", _("Role changed")
        DATA_EXPORT = "data-export", _("Exported a person's data")
        DATA_PURGE = "data-purge", _("Purged a person's proctoring data")
        ACCOUNT_DELETE = "account-delete", _("Deleted an account")
        # Every finished session of the exam is regraded with the new key (sessions.services).
        ANSWER_KEY_CHANGE = "answer-key-change", _("Changed an answer key and regraded")

    at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("at"))
    action = models.CharField(max_length=32, choices=Action.choices, verbose_name=_("action"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("actor"),
    )
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("target"),
    )
    # Ids as they were, so an entry still says "user 42" after that account is deleted.
    actor_ref = models.BigIntegerField(null=True, blank=True, verbose_name=_("actor ref"))
    target_ref = models.BigIntegerField(null=True, blank=True, verbose_name=_("target ref"))
    ip = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("ip"))
    user_agent = models.CharField(max_length=300, blank=True, verbose_name=_("user agent"))
    details = models.JSONField(default=dict, blank=True, verbose_name=_("details"))

    class Meta:
        verbose_name = _("audit entry")
        ordering = ["-at", "-id"]
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} by {self.actor_ref} on {self.target_ref}"
