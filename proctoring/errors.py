from django.utils.translation import gettext_lazy as _

from procto.errors import ApplicationError


class InvalidEvent(ApplicationError):
    code = "INVALID_EVENT"
    status = 400
    message = _("The event is not one Procto records.")
