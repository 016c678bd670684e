"""The API's Redoc page, /api/redoc: offline and under the site's Content-Security-Policy.

Redoc's standalone bundle comes from drf-spectacular-sidecar, as Swagger UI's does, but as
shipped it reaches outside the site twice, and drf-spectacular's page adds two more:

- Its sidebar footer shows Redocly's logo from https://cdn.redoc.ly, and no option turns that
  off (Redocly/redoc#2141, drf-spectacular-sidecar#11). So the bundle is served from here with
  that one URL replaced by `data:,`, an image that fails at once without a request; Redoc then
  hides it (its onError) and the "API docs by Redocly" credit stays as text.
- Its search runs in a Worker started from a `blob:` URL, which the policy refuses (worker-src
  is not set, so script-src 'self' decides). Redoc's documented `disableSearch` option turns search off, so
  no page needs a relaxed policy; the page lists every operation, and the browser's find works.
- drf-spectacular's template links Google Fonts and, given options, starts Redoc from an inline
  script. Ours (templates/api/redoc.html) passes the options as attributes of the `<redoc>`
  element, which the bundle reads itself when it loads.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import condition, require_GET
from drf_spectacular.views import SpectacularRedocView

logger = logging.getLogger(__name__)

REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
REDOCLY_LOGO_URL = "https://cdn.redoc.ly/redoc/logo-mini.svg"
NO_IMAGE_URL = "data:,"


@functools.cache
def redoc_bundle_source() -> tuple[bytes, str]:
    """The sidecar's Redoc bundle without its CDN logo, and its ETag (read once per process)."""
    source = Path(finders.find(REDOC_BUNDLE)).read_text(encoding="utf-8")
    if f'"{REDOCLY_LOGO_URL}"' not in source:
        # A Redoc upgrade moved or dropped the logo: the browser test says whether it now
        # reaches another host.
        logger.warning("Redoc's bundle no longer names %s; served unchanged", REDOCLY_LOGO_URL)
    body = source.replace(f'"{REDOCLY_LOGO_URL}"', f'"{NO_IMAGE_URL}"').encode()
    return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'


@require_GET
@condition(etag_func=lambda request: redoc_bundle_source()[1])
@cache_control(public=True, max_age=24 * 60 * 60)
def redoc_bundle(request: HttpRequest) -> HttpResponse:
    return HttpResponse(redoc_bundle_source()[0], content_type="text/javascript; charset=utf-8")


class RedocView(SpectacularRedocView):
    """drf-spectacular's Redoc view on our template, loading the bundle served above."""

    template_name = "api/redoc.html"

    @staticmethod
    def _redoc_standalone() -> str:
        return reverse("api-redoc-bundle")
