"""Error responses outside DRF: JSON envelopes under /api/, friendly pages everywhere else."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from procto.api import envelope_json_response
from procto.errors import ApplicationError

logger = logging.getLogger(__name__)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def error_page(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    context = {"status": status, "title": title, "message": message}
    return render(request, "error.html", context, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return envelope_json_response("BAD_REQUEST", _("The request could not be understood."), 400)
    return error_page(request, 400, _("Bad request"), _("The request could not be understood."))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = _("You do not have permission to see this page.")
    if _is_api(request):
        return envelope_json_response("PERMISSION_DENIED", message, 403)
    return error_page(request, 403, _("Not allowed"), message)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return envelope_json_response(
            "NOT_FOUND", _("No API endpoint at %(path)s.") % {"path": request.path}, 404
        )
    return error_page(request, 404, _("Page not found"), _("There is nothing at this address."))


def server_error(request: HttpRequest) -> HttpResponse:
    message = _("Something went wrong on our side. It has been logged; please try again.")
    if _is_api(request):
        return envelope_json_response("INTERNAL_ERROR", message, 500)
    return error_page(request, 500, _("Server error"), message)


class ApplicationErrorMiddleware:
    """A page whose service refused (ApplicationError) shows the refusal instead of a 500."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ApplicationError):
            return None
        logger.info("page %s refused: %s", request.path, exception.code)
        if _is_api(request):
            response = envelope_json_response(exception.code, exception.message, exception.status)
        else:
            response = error_page(request, exception.status, _("Cannot do that"), exception.message)
        if exception.retry_after:
            response["Retry-After"] = str(int(exception.retry_after))
        return response
