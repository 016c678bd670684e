"""The API's documentation page works offline and under the Content-Security-Policy: Swagger UI
loads from our own static files and renders the schema in Chromium, with nothing blocked (the
browser plugin fails any test whose pages the policy refused something)."""

from __future__ import annotations

from procto.tests.browser import BROWSER_TEST_MARKS

pytestmark = BROWSER_TEST_MARKS


def _page_requests(browser, url: str) -> tuple[object, list[str]]:
    page = browser.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(url)
    return page, requested


def test_swagger_ui_renders_every_operation_from_local_files(browser, live_server_url):
    page, requested = _page_requests(browser, f"{live_server_url}/api/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    assert page.locator(".opblock").count() >= 25
    assert page.get_by_text("/api/auth/login").first.is_visible()
    assert all(url.startswith(live_server_url) for url in requested), requested
    page.close()
