"""The API's documentation page works offline and under the Content-Security-Policy: Swagger UI
loads from our own static files and renders the schema in Chromium, with nothing blocked (the
browser plugin fails any test whose pages the policy refused something)."""

from __future__ import annotations

from drf_spectacular.generators import SchemaGenerator

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


def test_redoc_renders_every_operation_under_the_sites_policy_with_nothing_from_another_host(
    browser, live_server_url
):
    # The titles Redoc gives operations without a summary: their operationIds, as the schema has them.
    operation_ids = {
        operation["operationId"]
        for item in SchemaGenerator().get_schema(request=None, public=True)["paths"].values()
        for method, operation in item.items()
        if method in ("get", "put", "post", "patch", "delete")
    }
    page = browser.new_page()
    requested: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    response = page.goto(f"{live_server_url}/api/redoc")

    # Under the site's own policy, not a relaxed copy of it (no worker-src blob:, for one).
    site_policy = page.request.get(f"{live_server_url}/accounts/login/").headers["content-security-policy"]
    assert response.headers["content-security-policy"] == site_policy
    page.locator("[data-section-id^='operation/']").nth(len(operation_ids) - 1).wait_for(timeout=20_000)
    titles = set(page.locator("[data-section-id^='operation/'] h2").all_inner_texts())
    assert titles == operation_ids
    assert page.get_by_text("/api/auth/login").first.is_visible()
    page.wait_for_load_state("networkidle")
    assert errors == []  # no CSP refusal (the browser plugin checks those too) nor failed load
    assert all(url.startswith(live_server_url) for url in requested), requested
    page.close()
