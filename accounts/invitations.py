"""Accounts made for students by their school (a teacher enrolling an e-mail address that has no
account yet): the account is created without a password and the student gets an e-mail with a
link to choose one (Django's password-reset token, valid PASSWORD_RESET_TIMEOUT)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext

from accounts.models import User
from accounts.services import user_create

logger = logging.getLogger(__name__)


def student_invite(
    *, email: str, invited_by: User, course_title: str, first_name: str = "", last_name: str = ""
) -> User:
    """Create a student account for `email` (no password yet) and, after commit, e-mail them a
    link to set one. The caller checked no account has this address."""
    student = user_create(
        email=email, password=None, role=User.Role.STUDENT, first_name=first_name, last_name=last_name
    )
    link = settings.PUBLIC_BASE_URL.rstrip("/") + reverse(
        "password_reset_confirm",
        args=[urlsafe_base64_encode(force_bytes(student.pk)), default_token_generator.make_token(student)],
    )
    # Names are typed by users: a line break in a subject would stop the e-mail.
    # In the inviting teacher's language: the student has none yet.
    names = {"teacher": invited_by.display_name, "course": course_title, "link": link}
    subject = " ".join((gettext("[Procto] %(teacher)s added you to %(course)s") % names).split())
    body = (
        gettext(
            '%(teacher)s added you to the course "%(course)s" on Procto, where you '
            "will take its exams.\n\nChoose your password to sign in:\n%(link)s\n\n"
            "If you did not expect this, you can ignore this e-mail."
        )
        % names
    )

    def send() -> None:
        try:
            send_mail(subject, body, None, [email], fail_silently=False)
        except Exception:  # the account stays; the teacher can re-send or the student reset
            logger.exception("invitation to %s could not be sent", email)

    transaction.on_commit(send)
    return student
