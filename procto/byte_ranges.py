"""Serving bytes held in memory with HTTP range requests (RFC 9110, one range per request).

Browsers play and seek a <video> through range requests: without `Accept-Ranges` and 206
answers, Chromium cannot seek a recording and shows no position. Files stored encrypted are
decrypted whole anyway, so the range is cut from the decrypted bytes.
"""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse

# At most 19 digits (past any file we hold): int() refuses strings over 4300 digits.
_SINGLE_RANGE = re.compile(r"^bytes=([0-9]{0,19})-([0-9]{0,19})$")


def ranged_response(request: HttpRequest, data: bytes, content_type: str) -> HttpResponse:
    """200 with the whole of `data`, or 206 with the one range asked for, or 416 if it lies past
    the end. A header we do not serve (several ranges, another unit, nonsense) gets the whole
    body, which the standard allows."""
    size = len(data)
    asked = _SINGLE_RANGE.match(request.headers.get("Range", "").replace(" ", ""))
    if not asked or asked.groups() == ("", ""):
        response = HttpResponse(data, content_type=content_type)
    else:
        first, last = asked.groups()
        if first == "":  # "bytes=-N": the last N bytes
            start, end = max(size - int(last), 0), size - 1
        else:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
        if start >= size or start > end:
            response = HttpResponse(status=416, content_type=content_type)
            response["Content-Range"] = f"bytes */{size}"
            return _ranges_accepted(response)
        response = HttpResponse(data[start : end + 1], status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return _ranges_accepted(response)


def _ranges_accepted(response: HttpResponse) -> HttpResponse:
    response["Accept-Ranges"] = "bytes"
    return response
