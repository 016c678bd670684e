"""The session review page, and the private media it shows: alert snapshots and the room scan.

For the staff who oversee the session (sessions_watchable_by); a student gets 403, other staff 404.
"""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from procto.byte_ranges import ranged_response
from procto.crypto import DecryptionError
from procto.encrypted_files import read_encrypted
from procto.errors import NotFoundError
from proctoring import selectors
from proctoring.screen import image_type
from proctoring.services import departures_settle_lazily
from proctoring.tuning import risk_formula
from sessions.outcomes import outcome_of
from sessions.selectors import session_questions
from sessions.services import exam_sessions_expire_overdue_lazily

logger = logging.getLogger(__name__)


@login_required
@require_GET
def session_detail(request: HttpRequest, session_id) -> HttpResponse:
    session = selectors.session_review_get(user=request.user, session_id=session_id)
    # Embedded mode has no beat: a session past its deadline ends here, as on the other pages.
    if exam_sessions_expire_overdue_lazily(student=session.student, exam=session.exam):
        session.refresh_from_db()
    departures_settle_lazily()
    # Read before the events: an alert landing in between comes again on the socket's catch-up.
    last_event_id = selectors.last_event_id()
    data = selectors.session_review_data(session)
    bootstrap = selectors.session_review_bootstrap(
        session, data, viewer=request.user, last_event_id=last_event_id
    )
    context = {
        "session": session,
        "outcome": outcome_of(session),
        "bootstrap": bootstrap,
        "urls": bootstrap["urls"],
        "risk_formula": risk_formula(session.exam),
        # The attempt's own questions: a bank draw's are this student's.
        "questions": session_questions(session),
        **data,
    }
    return render(request, "proctoring/session_detail.html", context)


@login_required
@require_GET
def event_snapshot(request: HttpRequest, event_id: int) -> HttpResponse:
    """The picture kept with an event, decrypted for the staff who oversee it: the webcam frame
    that opened a server alert (JPEG), or a screenshot-captured record's screenshot (WebP or JPEG)."""
    name = selectors.event_snapshot_name_get(user=request.user, event_id=event_id)
    data = _decrypted(name)
    return _private(HttpResponse(data, content_type=image_type(data)))


@login_required
@require_GET
def session_room_scan_video(request: HttpRequest, session_id) -> HttpResponse:
    """The room-scan recording, decrypted; its type is read from the file (WebM, or MP4 from Safari)."""
    name = selectors.session_room_scan_name_get(user=request.user, session_id=session_id)
    data = _decrypted(name)
    # Ranges, or the player can neither seek nor show where it is.
    return _private(ranged_response(request, data, _video_type(data)))


def _private_file(name: str, content_type: str) -> HttpResponse:
    return _private(HttpResponse(_decrypted(name), content_type=content_type))


def _decrypted(name: str) -> bytes:
    try:
        data = read_encrypted(name)
    except FileNotFoundError as exc:
        logger.warning("encrypted file %s is missing from storage", name)
        raise NotFoundError(gettext("The file is no longer stored.")) from exc
    except DecryptionError as exc:
        # Altered or moved in the storage: never served, and worth an operator's attention.
        logger.error("encrypted file %s failed to decrypt", name)
        raise NotFoundError(gettext("The file could not be read.")) from exc
    return data


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _video_type(data: bytes) -> str:
    if data[:4] == b"\x1a\x45\xdf\xa3":  # EBML: WebM (MediaRecorder in Chromium and Firefox)
        return "video/webm"
    if data[4:8] == b"ftyp":  # ISO media: MP4 (MediaRecorder in Safari)
        return "video/mp4"
    return "application/octet-stream"
