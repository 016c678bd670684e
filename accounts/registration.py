"""Who may create their own account (REGISTRATION_POLICY, REGISTRATION_EMAIL_DOMAINS in settings).

A school that enrols its students itself, or brings them from its LMS, closes registration; one
that lets its students sign up restricts it to its e-mail domains. Only students ever register
themselves: staff accounts are made by an administrator.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext

from accounts.errors import EmailDomainNotAllowed, RegistrationClosed

logger = logging.getLogger(__name__)


def registration_open() -> bool:
    return settings.REGISTRATION_POLICY != "closed"


def allowed_domains() -> list[str]:
    """The e-mail domains that may register; empty when any address may (or none)."""
    return list(settings.REGISTRATION_EMAIL_DOMAINS) if settings.REGISTRATION_POLICY == "domains" else []


def email_domain_allowed(email: str, domains: list[str]) -> bool:
    """Is `email` at one of `domains` or a subdomain of one? school.edu admits x@school.edu and
    x@students.school.edu, not x@evilschool.edu nor x@school.edu.example.com."""
    domain = email.rpartition("@")[2].strip().lower().rstrip(".")
    return any(domain == allowed or domain.endswith("." + allowed) for allowed in domains)


def registration_check(*, email: str) -> None:
    """Raise RegistrationClosed or EmailDomainNotAllowed unless `email` may register now."""
    if not registration_open():
        raise RegistrationClosed()
    domains = allowed_domains()
    if domains and not email_domain_allowed(email, domains):
        raise EmailDomainNotAllowed(
            gettext("Register with your school e-mail address (%(domains)s).")
            % {"domains": ", ".join(f"@{domain}" for domain in domains)},
            details={"allowedDomains": domains},
        )


def registration_context(request: HttpRequest) -> dict:
    """Pages show the "Register" link and the allowed domains from this (a context processor)."""
    return {"registration_open": registration_open(), "registration_domains": allowed_domains()}


def _site_url(name: str, *args: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse(name, args=args)


def _send(email: str, subject: str, body: str) -> None:
    try:
        send_mail(subject, body, None, [email], fail_silently=False)
    except Exception:  # the person can register again; the answer must not differ
        logger.exception("registration e-mail could not be sent")


def registration_link_send(*, email: str, token: str) -> None:
    hours = settings.REGISTRATION_LINK_SECONDS // 3600
    # Sent while answering the registration: in the language of the page that asked.
    _send(
        email,
        gettext("[Procto] Finish creating your account"),
        gettext(
            "Someone, hopefully you, asked to create a Procto account with this e-mail address.\n\n"
            "To finish, open this link within %(hours)d hours and type the password you chose:\n"
            "%(link)s\n\n"
            "If it was not you, ignore this e-mail: no account is made without that password."
        )
        % {"hours": hours, "link": _site_url("register-confirm", token)},
    )


def registration_notice_send(*, email: str) -> None:
    """To the owner of an address that already has an account, instead of a second account."""
    _send(
        email,
        gettext("[Procto] Someone tried to register with your address"),
        gettext(
            "Someone tried to create a Procto account with this e-mail address, which already has one. "
            "Nothing has changed.\n\n"
            "If it was you, sign in:\n%(login)s\n\n"
            "or, if you forgot your password, choose a new one:\n%(reset)s\n\n"
            "If it was not you, you can ignore this e-mail."
        )
        % {"login": _site_url("login"), "reset": _site_url("password_reset")},
    )
