from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from procto.errors import NotFoundError
from proctoring.stream_state import thumbnail_key
from sessions.selectors import sessions_watchable_by


@login_required
@require_GET
def session_thumbnail(request: HttpRequest, session_id) -> HttpResponse:
    """The latest webcam frame of a session, for the staff who watch it."""
    if not sessions_watchable_by(request.user).filter(pk=session_id).exists():
        raise NotFoundError()
    jpeg = cache.get(thumbnail_key(session_id))
    if not jpeg:
        raise NotFoundError(gettext("No picture from this session yet."))
    response = HttpResponse(jpeg, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response
