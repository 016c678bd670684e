"""E-mails anyone can ask for (password reset, registration) are limited per recipient and per
client address, and the answer never says whether an address has an account."""

from __future__ import annotations

import pytest
from django.core import mail

pytestmark = pytest.mark.django_db

RESET = "/accounts/password/reset/"
REGISTRATION = {
    "password": "a long enough passphrase 42",
    "firstName": "Nia",
    "lastName": "Novak",
}


def reset(client, email: str, ip: str = "198.51.100.9"):
    return client.post(RESET, {"email": email}, REMOTE_ADDR=ip)


def test_twenty_resets_for_one_address_send_three_emails_and_all_look_alike(client, student):
    answers = {(r.status_code, r["Location"]) for r in (reset(client, student.email) for _ in range(20))}
    assert answers == {(302, "/accounts/password/reset/sent/")}
    assert len(mail.outbox) == 3


def test_a_capped_reset_looks_the_same_for_a_real_and_an_unknown_address(client, student):
    for email in (student.email, "ghost@school.example"):
        for _ in range(3):
            reset(client, email)
    real, ghost = reset(client, student.email), reset(client, "ghost@school.example")
    assert (real.status_code, real["Location"]) == (ghost.status_code, ghost["Location"])
    assert [m.to for m in mail.outbox] == [[student.email]] * 3


def test_the_recipient_limit_counts_resets_asked_from_different_addresses(client, student):
    for n in range(6):
        reset(client, student.email, ip=f"198.51.100.{n}")
    assert len(mail.outbox) == 3


def test_the_recipient_limit_lifts_after_an_hour(client, student, clock):
    for _ in range(4):
        reset(client, student.email)
    clock.shift(60 * 60)
    reset(client, student.email)
    assert len(mail.outbox) == 4


def test_one_client_address_asking_for_too_many_resets_gets_429_with_retry_after(client, settings):
    settings.ACCOUNT_EMAILS_PER_ADDRESS = "5/hour"
    assert {reset(client, f"person{n}@school.example").status_code for n in range(5)} == {302}
    refused = reset(client, "person99@school.example")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert "Too many requests for e-mails from your network" in refused.content.decode()
    assert reset(client, "person99@school.example", ip="203.0.113.77").status_code == 302


def test_registrations_count_towards_the_same_limits(api, student):
    for _ in range(5):
        assert (
            api.post("/api/auth/register", REGISTRATION | {"email": student.email}, format="json").status_code
            == 202
        )
    assert len(mail.outbox) == 3


def test_the_registration_api_answers_429_with_retry_after_past_the_address_limit(api, settings):
    settings.ACCOUNT_EMAILS_PER_ADDRESS = "2/hour"
    for n in range(2):
        api.post("/api/auth/register", REGISTRATION | {"email": f"p{n}@school.example"}, format="json")
    refused = api.post("/api/auth/register", REGISTRATION | {"email": "p9@school.example"}, format="json")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "THROTTLED"
    assert int(refused["Retry-After"]) > 0
