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


class RegistrationClosed(ApplicationError):
    code = "REGISTRATION_CLOSED"
    status = 403
    message = "Accounts are created by your school: ask your teacher or use the link from your course."


class EmailDomainNotAllowed(ApplicationError):
    code = "EMAIL_DOMAIN_NOT_ALLOWED"
    status = 403
    message = "Register with your school e-mail address."
