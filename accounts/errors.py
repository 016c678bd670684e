import math

from procto.errors import ApplicationError


class InvalidCredentials(ApplicationError):
    code = "INVALID_CREDENTIALS"
    status = 401
    # The same words whether or not the e-mail exists: no account enumeration through login.
    message = "Invalid e-mail or password."


class AccountLocked(ApplicationError):
    """This account from this address only (accounts.login_limits); retry_after says for how long."""

    code = "ACCOUNT_LOCKED"
    status = 429
    message = "Too many failed log-in attempts for this account from your network. Try again later."


class TokenError(ApplicationError):
    code = "TOKEN_INVALID"
    status = 401
    message = "The token is invalid."


class EmailTaken(ApplicationError):
    code = "EMAIL_TAKEN"
    status = 409
    message = "An account with this e-mail address already exists."


class VerificationFailed(ApplicationError):
    code = "VERIFICATION_FAILED"
    status = 422
    message = "The identity check could not be completed."


class IdentityBusy(ApplicationError):
    """As many identity checks as accounts.identity_pool takes are in flight; retry shortly."""

    code = "BUSY"
    status = 503
    message = "Many identity checks are running right now. Trying again in a few seconds will work."
    retry_after = 5

    def __init__(self) -> None:
        # Also in the body: a page's script cannot always read Retry-After.
        super().__init__(details={"retry_after": self.retry_after})


class RegistrationClosed(ApplicationError):
    code = "REGISTRATION_CLOSED"
    status = 403
    message = "Accounts are created by your school: ask your teacher or use the link from your course."


class EmailDomainNotAllowed(ApplicationError):
    code = "EMAIL_DOMAIN_NOT_ALLOWED"
    status = 403
    message = "Register with your school e-mail address."


class TooManyEmailRequests(ApplicationError):
    """Password resets or registrations from one client address past ACCOUNT_EMAILS_PER_ADDRESS."""

    code = "THROTTLED"
    status = 429

    def __init__(self, *, retry_after: int) -> None:
        wait = f"{retry_after} seconds" if retry_after < 90 else f"{math.ceil(retry_after / 60)} minutes"
        message = f"Too many requests for e-mails from your network. Try again in {wait}."
        super().__init__(message, retry_after=retry_after)


class RegistrationLinkInvalid(ApplicationError):
    code = "REGISTRATION_LINK_INVALID"
    status = 400
    message = "This link has expired or was already used. Register again to get a new one."
