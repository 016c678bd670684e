from procto.errors import ApplicationError


class InvalidEvent(ApplicationError):
    code = "INVALID_EVENT"
    status = 400
    message = "The event is not one Procto records."
