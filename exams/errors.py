import math

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from procto.errors import ApplicationError


class IdentityNotVerified(ApplicationError):
    code = "IDENTITY_NOT_VERIFIED"
    status = 403
    message = _(
        "This exam requires a verified identity. Upload your photo and ID card on your profile page first."
    )


class JoinCodeUnknown(ApplicationError):
    code = "JOIN_CODE_UNKNOWN"
    status = 404
    message = _("No course has this join code. Check it with your teacher.")


class JoinCodeLocked(ApplicationError):
    code = "JOIN_CODE_LOCKED"
    status = 429

    def __init__(self, *, retry_after: int, from_address: bool = False) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        if from_address:
            message = ngettext(
                "Too many wrong join codes from your network. Try again in %(minutes)d minute.",
                "Too many wrong join codes from your network. Try again in %(minutes)d minutes.",
                minutes,
            )
        else:
            message = ngettext(
                "Too many wrong join codes. Try again in %(minutes)d minute.",
                "Too many wrong join codes. Try again in %(minutes)d minutes.",
                minutes,
            )
        super().__init__(message % {"minutes": minutes}, retry_after=retry_after)
