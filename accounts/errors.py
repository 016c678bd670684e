import math

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from procto.errors import ApplicationError


class InvalidCredentials(ApplicationError):
    code = "INVALID_CREDENTIALS"
    status = 401
    # The same words whether or not the e-mail exists: no account enumeration through login.
    message = _("Invalid e-mail or password.")


class AccountLocked(ApplicationError):
    """This account from this address only (accounts.login_limits); retry_after says for how long."""

    code = "ACCOUNT_LOCKED"
    status = 429
    message = _("Too many failed log-in attempts for this account from your network. Try again later.")


class TokenError(ApplicationError):
    code = "TOKEN_INVALID"
    status = 401
    message = _("The token is invalid.")


class EmailTaken(ApplicationError):
    code = "EMAIL_TAKEN"
    status = 409
    message = _("An account with this e-mail address already exists.")


class VerificationFailed(ApplicationError):
    code = "VERIFICATION_FAILED"
    status = 422
    message = _("The identity check could not be completed.")


class IdentityBusy(ApplicationError):
    """As many identity checks as accounts.identity_pool takes are in flight; retry shortly."""

    code = "BUSY"
    status = 503
    message = _("Many identity checks are running right now. Trying again in a few seconds will work.")
    retry_after = 5

    def __init__(self) -> None:
        # Also in the body: a page's script cannot always read Retry-After.
        super().__init__(details={"retry_after": self.retry_after})


class RegistrationClosed(ApplicationError):
    code = "REGISTRATION_CLOSED"
    status = 403
    message = _("Accounts are created by your school: ask your teacher or use the link from your course.")


class EmailDomainNotAllowed(ApplicationError):
    code = "EMAIL_DOMAIN_NOT_ALLOWED"
    status = 403
    message = _("Register with your school e-mail address.")


class TooManyEmailRequests(ApplicationError):
    """Password resets or registrations from one client address past ACCOUNT_EMAILS_PER_ADDRESS."""

    code = "THROTTLED"
    status = 429

    def __init__(self, *, retry_after: int) -> None:
        if retry_after < 90:
            message = ngettext(
                "Too many requests for e-mails from your network. Try again in %(n)d second.",
                "Too many requests for e-mails from your network. Try again in %(n)d seconds.",
                retry_after,
            ) % {"n": retry_after}
        else:
            minutes = math.ceil(retry_after / 60)
            message = ngettext(
                "Too many requests for e-mails from your network. Try again in %(n)d minute.",
                "Too many requests for e-mails from your network. Try again in %(n)d minutes.",
                minutes,
            ) % {"n": minutes}
        super().__init__(message, retry_after=retry_after)


class RegistrationLinkInvalid(ApplicationError):
    code = "REGISTRATION_LINK_INVALID"
    status = 400
    message = _("This link has expired or was already used. Register again to get a new one.")
