"""Failed logins count per (e-mail, client address) pair, with growing delays (django-axes).

An attacker failing for Stu's e-mail locks only themselves; fifty failures from a school's one
NAT address lock no classmate; a locked pair is told when to come back (Retry-After)."""

from __future__ import annotations

import pytest

from accounts.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.5"
SCHOOL_NAT = "192.0.2.10"


def login(api, email: str, password: str, ip: str = "10.0.0.1"):
    return api.post("/api/auth/login", {"email": email, "password": password}, format="json", REMOTE_ADDR=ip)


def fail(api, email: str, times: int, ip: str = "10.0.0.1") -> list[int]:
    return [login(api, email, "wrong", ip).status_code for _ in range(times)]


def test_an_attacker_typing_a_students_email_does_not_lock_the_student_out(api, student):
    assert fail(api, student.email, 10, ip=ATTACKER)[-1] == 429
    assert login(api, student.email, DEFAULT_PASSWORD, ip="198.51.100.7").status_code == 200


def test_fifty_failures_from_a_schools_address_do_not_lock_a_classmate_behind_it(api, other_student):
    for n in range(50):
        login(api, f"guess{n}@school.example", "guess", ip=SCHOOL_NAT)
    assert login(api, other_student.email, DEFAULT_PASSWORD, ip=SCHOOL_NAT).status_code == 200


def test_the_fifth_failure_of_a_pair_locks_it_and_says_when_to_retry(api, student):
    assert fail(api, student.email, 4) == [401] * 4
    locked = login(api, student.email, "wrong")
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "ACCOUNT_LOCKED"
    assert locked["Retry-After"] == "60"
    assert "Try again in 60 seconds" in locked.json()["error"]["message"]
    # The right password waits too, and trying does not lengthen the lock.
    right = login(api, student.email, DEFAULT_PASSWORD)
    assert right.status_code == 429
    assert 0 < int(right["Retry-After"]) <= 60


def test_each_failure_after_a_lock_doubles_the_delay(api, student, clock):
    fail(api, student.email, 5)
    clock.shift(59)
    assert login(api, student.email, DEFAULT_PASSWORD).status_code == 429
    clock.shift(2)  # the lock is over: one more wrong password locks again, twice as long
    again = login(api, student.email, "wrong")
    assert (again.status_code, again["Retry-After"]) == (429, "120")
    clock.shift(121)
    again = login(api, student.email, "wrong")
    assert (again.status_code, again["Retry-After"]) == (429, "240")
    clock.shift(241)
    assert login(api, student.email, DEFAULT_PASSWORD).status_code == 200


def test_the_delay_stops_growing_at_its_ceiling(api, student, clock, settings):
    settings.LOGIN_MAX_DELAY_SECONDS = 300
    fail(api, student.email, 5)
    for wait in (60, 120, 240, 300):
        clock.shift(wait + 1)
        last = login(api, student.email, "wrong")
    assert last["Retry-After"] == "300"


def test_four_failures_then_the_right_password_logs_in_and_forgets_them(api, student):
    fail(api, student.email, 4)
    assert login(api, student.email, DEFAULT_PASSWORD).status_code == 200
    assert fail(api, student.email, 4) == [401] * 4
    assert login(api, student.email, DEFAULT_PASSWORD).status_code == 200


def test_failures_are_forgotten_an_hour_after_the_last_one(api, student, clock):
    fail(api, student.email, 4)
    clock.shift(60 * 60)
    assert fail(api, student.email, 4) == [401] * 4


def test_a_locked_unknown_email_looks_exactly_like_a_locked_real_one(api, student):
    real = fail(api, student.email, 5)
    ghost = fail(api, "ghost@school.example", 5)
    assert real == ghost == [401, 401, 401, 401, 429]
    real = login(api, student.email, "wrong")
    ghost = login(api, "ghost@school.example", "wrong")
    assert real.json()["error"]["message"] == ghost.json()["error"]["message"]
    assert real["Retry-After"] == ghost["Retry-After"]


def test_the_lock_holds_across_case_changes_of_the_email(api, student):
    fail(api, student.email.upper(), 5)
    assert login(api, student.email.title(), DEFAULT_PASSWORD).status_code == 429
    assert login(api, student.email, DEFAULT_PASSWORD).status_code == 429


def test_the_login_page_shares_the_pairs_lock_and_answers_429_with_retry_after(client, api, student):
    fail(api, student.email, 5, ip="127.0.0.1")
    page = client.post("/accounts/login/", {"username": student.email, "password": DEFAULT_PASSWORD})
    assert page.status_code == 429
    assert 0 < int(page["Retry-After"]) <= 60
    assert b"Too many failed log-in attempts for this account from your network" in page.content


def test_the_admin_login_is_throttled_by_the_same_pairs(client, admin_user):
    for _ in range(5):
        client.post("/admin/login/", {"username": admin_user.email, "password": "wrong"})
    page = client.post("/admin/login/", {"username": admin_user.email, "password": DEFAULT_PASSWORD})
    assert page.status_code == 429
    assert "Retry-After" in page


def test_an_admin_sees_a_lock_and_clearing_it_lets_the_pair_in(api, client, student, admin_user):
    from axes.models import AccessAttempt

    fail(api, student.email, 5, ip=ATTACKER)
    client.force_login(admin_user)
    listing = client.get("/admin/axes/accessattempt/")
    assert student.email in listing.content.decode() and ATTACKER in listing.content.decode()
    attempt = AccessAttempt.objects.get(username=student.email, ip_address=ATTACKER)
    client.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )
    assert login(api, student.email, DEFAULT_PASSWORD, ip=ATTACKER).status_code == 200


@pytest.mark.django_db(transaction=True)
async def test_under_asgi_too_a_locked_login_page_is_a_429_with_its_message(async_client, student):
    # daphne serves Procto through Django's ASGI handler, where middleware runs its async path.
    form = {"username": student.email, "password": "wrong"}
    for _ in range(5):
        await async_client.post("/accounts/login/", form)
    page = await async_client.post("/accounts/login/", form | {"password": DEFAULT_PASSWORD})
    assert page.status_code == 429
    assert 0 < int(page["Retry-After"]) <= 60
    assert b"Too many failed log-in attempts for this account from your network" in page.content
