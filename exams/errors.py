import math

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

    def __init__(self, *, retry_after: int, from_address: bool = False) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        where = " from your network" if from_address else ""
        super().__init__(
            f"Too many wrong join codes{where}. Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            retry_after=retry_after,
        )
