from procto.errors import ApplicationError


class IdentityNotVerified(ApplicationError):
    code = "IDENTITY_NOT_VERIFIED"
    status = 403
    message = (
        "This exam requires a verified identity. Upload your photo and ID card on your profile page first."
    )
