"""API rate limits: per user when signed in, per address when not; 429 in the error envelope."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts import services
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {services.token_pair_issue(user=user).access_token}")
    return client


def test_a_user_past_the_rate_gets_429_with_retry_after_and_others_go_on(settings):
    settings.API_USER_RATE = "3/min"
    busy, other = UserFactory(), UserFactory()
    client = signed_in(busy)
    assert [client.get("/api/auth/profile").status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get("/api/auth/profile")
    assert refused.status_code == 429
    body = refused.json()
    assert (body["success"], body["error"]["code"]) == (False, "THROTTLED")
    assert 0 < int(refused["Retry-After"]) <= 60
    assert signed_in(other).get("/api/auth/profile").status_code == 200


def test_one_users_devices_share_their_budget(settings):
    settings.API_USER_RATE = "2/min"
    user = UserFactory()
    laptop, phone = signed_in(user), signed_in(user)
    assert laptop.get("/api/auth/profile").status_code == 200
    assert phone.get("/api/auth/profile").status_code == 200
    assert laptop.get("/api/auth/profile").status_code == 429


def test_signed_in_calls_from_one_address_are_not_limited_per_address(settings):
    # A whole school behind one NAT address: each student has their own budget.
    settings.API_USER_RATE, settings.API_ANON_RATE = "5/min", "2/min"
    students = [UserFactory() for _ in range(4)]
    codes = [signed_in(s).get("/api/auth/profile", REMOTE_ADDR="203.0.113.7").status_code for s in students]
    assert codes == [200] * 4


def test_anonymous_calls_are_limited_per_address_and_a_forged_header_does_not_escape(settings):
    settings.API_ANON_RATE = "2/min"
    client = APIClient()
    login = {"email": "nobody@school.example", "password": "wrong"}
    assert client.post("/api/auth/login", login, format="json", REMOTE_ADDR="198.51.100.1").status_code == 401
    assert client.post("/api/auth/login", login, format="json", REMOTE_ADDR="198.51.100.1").status_code == 401
    forged = client.post(
        "/api/auth/login", login, format="json", REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="10.9.8.7"
    )
    assert forged.status_code == 429
    assert client.post("/api/auth/login", login, format="json", REMOTE_ADDR="198.51.100.2").status_code == 401
