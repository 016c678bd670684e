import uuid
from pathlib import Path

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower


def _random_name(folder: str, filename: str) -> str:
    # Random names: a user's id or e-mail must not be guessable from a file path.
    return f"users/{folder}/{uuid.uuid4().hex}{Path(filename).suffix.lower()}"


def upload_photo(instance: "User", filename: str) -> str:
    return _random_name("photos", filename)


def upload_id_card(instance: "User", filename: str) -> str:
    return _random_name("id-cards", filename)


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
        STUDENT = "student", "Student"
        TEACHER = "teacher", "Teacher"
        PROCTOR = "proctor", "Proctor"
        ADMIN = "admin", "Administrator"

    # Teachers author exams in the Django admin, so they are staff like administrators.
    STAFF_ROLES = frozenset({Role.TEACHER, Role.ADMIN})

    username = None
    email = models.EmailField("e-mail address", unique=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STUDENT)
    institution = models.CharField(max_length=200, blank=True)
    photo = models.ImageField(upload_to=upload_photo, blank=True)
    id_card = models.ImageField("ID card", upload_to=upload_id_card, blank=True)
    is_verified = models.BooleanField(
        default=False, help_text="Identity verified against the ID card photo."
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    # Part of every token; bumping it (logout everywhere, password change) revokes them all.
    token_version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    objects = UserManager()

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email
