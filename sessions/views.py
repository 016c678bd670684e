from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from procto.crypto import DecryptionError
from procto.encrypted_files import read_encrypted
from procto.errors import NotFoundError
from sessions.admissions import admission_get_for_watcher
from sessions.selectors import question_image_get_for_user

logger = logging.getLogger(__name__)


@login_required
@require_GET
def admission_identity_capture(request: HttpRequest, admission_id: int) -> HttpResponse:
    """The webcam capture of a waiting student's identity check, for the staff who watch the exam:
    the monitor's admission panel shows it beside the profile photo."""
    admission = admission_get_for_watcher(user=request.user, admission_id=admission_id)
    if admission.identity_check is None:
        raise NotFoundError(gettext("This request has no identity check."))
    try:
        jpeg = read_encrypted(admission.identity_check.capture)
    except (FileNotFoundError, DecryptionError) as exc:
        logger.warning("admission %s: identity capture unreadable: %s", admission.pk, exc)
        raise NotFoundError(gettext("The capture is no longer stored.")) from exc
    response = HttpResponse(jpeg, content_type="image/jpeg")
    # A decrypted face must not linger in shared or browser caches.
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def question_image(request: HttpRequest, question_id: int) -> FileResponse:
    question = question_image_get_for_user(user=request.user, question_id=question_id)
    try:
        image = question.image.open("rb")
    except FileNotFoundError as exc:
        # The record names a file the storage no longer has (a restore without the media): the
        # question is still there, its picture is not, which is a 404 and one log line.
        logger.warning("question %s: image %s not in storage", question.pk, question.image.name)
        raise Http404("This question's image is no longer stored.") from exc
    response = FileResponse(image)
    response["Cache-Control"] = "private, max-age=300"
    return response
