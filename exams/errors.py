from procto.errors import ApplicationError


class IdentityNotVerified(ApplicationError):
    code = "IDENTITY_NOT_VERIFIED"
    status = 403
    message = (
        "This exam requires a verified identity. Upload your photo and ID card on your profile page first."
    )


class JoinCodeUnknown(ApplicationError):
    code = "JOIN_CODE_UNKNOWN"
    status = 404
    message = "No course has this join code. Check it with your teacher."


class JoinCodeLocked(ApplicationError):
    code = "JOIN_CODE_LOCKED"
    status = 429
    message = "Too many wrong join codes. Try again in 15 minutes."
