"""The Content-Security-Policy in real Chromium on the pages no other browser test opens: the
Django admin (with its JavaScript widgets), the exam report and preview, the login page. Any
script or style the policy blocks fails the test (procto.tests.browser's CSP watch)."""

from __future__ import annotations

from accounts.tests.factories import DEFAULT_PASSWORD
from procto.tests.browser import (
    BROWSER_TEST_MARKS,
    live_stack,
    log_in,
)

pytestmark = BROWSER_TEST_MARKS


def test_admin_and_report_pages_run_their_scripts_under_the_policy(
    still_camera_chromium, tmp_path, transactional_world, settings
):
    # Ada, the admin, opens the pages of physics and of Stu's session in it.
    session, admin = transactional_world.stu_in_physics, transactional_world.ada
    exam_id = session.exam_id
    with live_stack(tmp_path, settings) as url:
        page = still_camera_chromium.new_context(viewport={"width": 1400, "height": 900}).new_page()
        response = page.goto(f"{url}/accounts/login/")
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "object-src 'none'" in policy
        log_in(page, url, admin.email, DEFAULT_PASSWORD)

        page.goto(f"{url}/admin/exams/exam/{exam_id}/change/")
        # The proctors widget is built by the admin's JavaScript: it ran.
        page.locator(".selector-available").first.wait_for(timeout=10_000)
        page.goto(f"{url}/admin/sessions/examsession/{session.pk}/change/")
        page.goto(f"{url}/admin/accounts/user/")
        page.goto(f"{url}/exams/{exam_id}/report/")
        assert session.student.email in page.content() or session.student.get_full_name() in page.content()
        page.goto(f"{url}/exams/{exam_id}/preview/")
        page.goto(f"{url}/proctoring/sessions/{session.pk}/")
        # Chart.js sized its canvas (a canvas no script touched is 300 px wide).
        chart = page.locator("#timeline-chart")
        chart.wait_for(state="attached")
        assert chart.evaluate("c => c.width") != 300
