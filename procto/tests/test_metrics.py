"""/metrics: Prometheus text for staff and for a scraper holding the metrics token, nobody else."""

from __future__ import annotations

import pytest

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
    assert "procto_frames_analysed 42" in response.content.decode()


def test_staff_logged_in_read_them(client, counted):
    client.force_login(UserFactory(role="teacher", is_staff=True))
    assert "procto_frames_analysed 42" in client.get("/metrics").content.decode()


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
