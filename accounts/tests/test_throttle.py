"""Five wrong passwords lock the account for 15 minutes, the same way for real and unknown e-mails."""

from __future__ import annotations

import pytest

from accounts.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def login(api, email: str, password: str, ip: str = "10.0.0.1"):
    return api.post("/api/auth/login", {"email": email, "password": password}, format="json", REMOTE_ADDR=ip)


def test_five_failures_lock_the_account_even_for_the_right_password(api, student):
    for _ in range(5):
        assert login(api, student.email, "wrong").status_code == 401
    locked = login(api, student.email, DEFAULT_PASSWORD)
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "ACCOUNT_LOCKED"


def test_four_failures_then_the_right_password_logs_in_and_resets_the_count(api, student):
    for _ in range(4):
        login(api, student.email, "wrong")
    assert login(api, student.email, DEFAULT_PASSWORD).status_code == 200
    for _ in range(4):
        login(api, student.email, "wrong")
    assert login(api, student.email, DEFAULT_PASSWORD).status_code == 200


def test_a_locked_unknown_email_looks_exactly_like_a_locked_real_one(api, student):
    for email in (student.email, "ghost@school.example"):
        for _ in range(5):
            login(api, email, "wrong", ip="10.0.0.2")
    real = login(api, student.email, "wrong", ip="10.0.0.3")
    ghost = login(api, "ghost@school.example", "wrong", ip="10.0.0.3")
    assert real.status_code == ghost.status_code == 429
    assert real.json()["error"]["message"] == ghost.json()["error"]["message"]


def test_the_lock_holds_across_case_changes_of_the_email(api, student):
    for _ in range(5):
        login(api, student.email.upper(), "wrong")
    assert login(api, student.email, DEFAULT_PASSWORD).status_code == 429


def test_the_lock_ends_after_fifteen_minutes(api, student, settings, clock):
    settings.LOGIN_LOCK_SECONDS = 15 * 60
    for _ in range(5):
        login(api, student.email, "wrong")
    assert login(api, student.email, DEFAULT_PASSWORD).status_code == 429
    clock.shift(15 * 60 - 1)
    assert login(api, student.email, DEFAULT_PASSWORD).status_code == 429
    clock.shift(1)
    assert login(api, student.email, DEFAULT_PASSWORD).status_code == 200


def test_one_ip_guessing_many_accounts_is_locked_out(api, settings):
    settings.LOGIN_FAILURES_PER_IP = 10
    for n in range(10):
        login(api, f"victim{n}@school.example", "guess", ip="10.9.9.9")
    assert login(api, "victim99@school.example", "guess", ip="10.9.9.9").status_code == 429
    assert login(api, "victim99@school.example", "guess", ip="10.1.1.1").status_code == 401


def test_a_classmate_behind_the_same_ip_is_not_locked_out_by_one_students_typos(api, student, other_student):
    for _ in range(5):
        login(api, student.email, "wrong", ip="192.0.2.10")
    assert login(api, other_student.email, DEFAULT_PASSWORD, ip="192.0.2.10").status_code == 200


def test_the_login_page_shares_the_same_lock(client, api, student):
    for _ in range(5):
        login(api, student.email, "wrong", ip="127.0.0.1")
    page = client.post("/accounts/login/", {"username": student.email, "password": DEFAULT_PASSWORD})
    assert page.status_code == 200
    assert b"Too many failed log-in attempts" in page.content
