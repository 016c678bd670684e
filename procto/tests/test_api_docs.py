"""The Redoc page's HTML and bundle, as served: nothing in them names another host or runs
inline (the browser test, test_api_docs_browser, shows the page working under the policy)."""

from __future__ import annotations

import re
from pathlib import Path

from django.contrib.staticfiles import finders

from procto.api_docs import REDOC_BUNDLE


def test_redoc_bundle_is_the_sidecars_without_redoclys_cdn_logo(client):
    sidecar = Path(finders.find(REDOC_BUNDLE)).read_text(encoding="utf-8")
    response = client.get("/api/redoc/redoc.standalone.js")
    body = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "cdn.redoc.ly" in sidecar and "cdn.redoc.ly" not in body
    assert body == sidecar.replace('"https://cdn.redoc.ly/redoc/logo-mini.svg"', '"data:,"')
    # Browsers keep it: a second load with the ETag is a 304 without the megabyte.
    again = client.get("/api/redoc/redoc.standalone.js", headers={"If-None-Match": response["ETag"]})
    assert again.status_code == 304 and again.content == b""


def test_redoc_page_runs_only_the_local_bundle_with_search_off(client):
    html = client.get("/api/redoc").content.decode()
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/api/redoc/redoc.standalone.js">']
    assert "http" not in html  # no web fonts, no CDN
    assert re.search(r'<redoc spec-url="/api/schema" disable-search>', html)
