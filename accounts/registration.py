"""Who may create their own account (REGISTRATION_POLICY, REGISTRATION_EMAIL_DOMAINS in settings).

A school that enrols its students itself, or brings them from its LMS, closes registration; one
that lets its students sign up restricts it to its e-mail domains. Only students ever register
themselves: staff accounts are made by an administrator.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from accounts.errors import EmailDomainNotAllowed, RegistrationClosed


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
            f"Register with your school e-mail address (@{', @'.join(domains)}).",
            details={"allowedDomains": domains},
        )


def registration_context(request: HttpRequest) -> dict:
    """Pages show the "Register" link and the allowed domains from this (a context processor)."""
    return {"registration_open": registration_open(), "registration_domains": allowed_domains()}
