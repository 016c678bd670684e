"""/metrics: Prometheus text for staff and for a scraper holding the metrics token, nobody else."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from accounts.tests.factories import UserFactory
from procto.metrics import metric_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def counted():
    from django.core.cache import cache

    cache.set(metric_key("frames_analysed"), 42)


def test_a_scraper_with_the_token_reads_the_numbers(client, settings, counted):
    settings.METRICS_TOKEN = "s3cret-scrape"
    response = client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"})
    assert response.status_code == 200
    assert "procto_frames_analysed_total 42.0" in response.content.decode()


def test_staff_logged_in_read_them(client, counted):
    client.force_login(UserFactory(role="teacher", is_staff=True))
    assert "procto_frames_analysed_total 42.0" in client.get("/metrics").content.decode()


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Bearer ", "s3cret-scrape"])
def test_anyone_else_gets_401_and_no_numbers(client, settings, counted, header):
    settings.METRICS_TOKEN = "s3cret-scrape"
    response = client.get("/metrics", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert b"procto_" not in response.content


def test_without_a_token_configured_a_bearer_gets_nothing(client, settings, counted):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


def test_a_logged_in_student_gets_nothing(client, student, counted):
    client.force_login(student)
    assert client.get("/metrics").status_code == 401


def test_the_bearer_scheme_is_case_insensitive(client, settings, counted):
    settings.METRICS_TOKEN = "s3cret-scrape"
    assert client.get("/metrics", headers={"Authorization": "bearer s3cret-scrape"}).status_code == 200


def scrape(client) -> str:
    return client.get("/metrics").content.decode()


def samples(text: str) -> list:
    """Every series in Prometheus' text format."""
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def sample(text: str, name: str, **labels) -> float:
    """The value of one series (0 when absent)."""
    for s in samples(text):
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return 0.0


def test_the_reference_documents_metrics_count_sessions_violations_and_requests(client, student):
    from proctoring.services import event_record_client
    from sessions.tests.factories import ExamSessionFactory

    staff = UserFactory(role="admin", is_staff=True)
    client.force_login(staff)
    before = scrape(client)
    session = ExamSessionFactory(student=student)  # in progress
    event_record_client(session_id=session.pk, student=student, type="tab-switch", severity="medium")
    client.get("/api/exams/999999")  # a 404 through a route with an id in it
    after = scrape(client)

    assert sample(after, "active_exam_sessions_total") == sample(before, "active_exam_sessions_total") + 1
    tab_switches = {"type": "tab-switch", "severity": "medium"}
    assert sample(after, "proctoring_violations_total", **tab_switches) == 1
    # Requests are labelled by the route pattern, never the path (bounded series whatever ids come).
    route = {"method": "GET", "route": "api/exams/<str:exam_id>", "status": "404"}
    assert sample(after, "http_request_duration_seconds_count", **route) >= 1
    routes = {s.labels["route"] for s in samples(after) if "route" in s.labels}
    assert routes and not any("999999" in r for r in routes)
