"""Registration policy: open to anyone, closed (the school makes the accounts), or restricted to
the school's e-mail domains, on the page and through the API alike."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.models import User
from accounts.registration import email_domain_allowed
from procto.tests.live_servers import PYTHON, REPO_ROOT, child_env

pytestmark = pytest.mark.django_db

FORM = {
    "email": "new.student@school.edu",
    "first_name": "Nia",
    "last_name": "Novak",
    "institution": "",
    "password": "a long enough passphrase 42",
    "password_again": "a long enough passphrase 42",
}
API = {
    "email": "new.student@school.edu",
    "password": "a long enough passphrase 42",
    "firstName": "Nia",
    "lastName": "Novak",
}


@pytest.fixture
def closed(settings):
    settings.REGISTRATION_POLICY = "closed"


@pytest.fixture
def school_domains(settings):
    settings.REGISTRATION_POLICY = "domains"
    settings.REGISTRATION_EMAIL_DOMAINS = ["school.edu"]


def confirm_by_link(client, email: str, password: str = FORM["password"]):
    body = next(m.body for m in reversed(mail.outbox) if m.to == [email])
    path = re.search(r"http://[^/]+(/accounts/register/confirm/\S+/)", body).group(1)
    return client.post(path, {"password": password})


def test_an_open_site_lets_a_stranger_register_on_the_page_and_the_api(client, api):
    response = client.post("/accounts/register/", FORM)
    assert response.status_code == 200 and "Check your e-mail" in response.content.decode()
    assert confirm_by_link(client, FORM["email"]).status_code == 302
    assert User.objects.filter(email="new.student@school.edu").exists()
    other = API | {"email": "someone@anywhere.example"}
    assert api.post("/api/auth/register", other, format="json").status_code == 202


def test_a_closed_site_has_no_register_link_form_or_api(client, api, closed):
    login_page = client.get("/accounts/login/").content.decode()
    assert "/accounts/register/" not in login_page
    page = client.get("/accounts/register/")
    assert page.status_code == 403
    html = page.content.decode()
    assert "Accounts are created by your school" in html
    assert '<form method="post" novalidate>' not in html
    assert client.post("/accounts/register/", FORM).status_code == 403
    response = api.post("/api/auth/register", API, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "REGISTRATION_CLOSED"
    assert not User.objects.filter(email="new.student@school.edu").exists()


def test_a_closed_site_still_lets_existing_accounts_log_in(client, closed, student):
    student.set_password("a long enough passphrase 42")
    student.save()
    response = client.post(
        "/accounts/login/", {"username": student.email, "password": "a long enough passphrase 42"}
    )
    assert response.status_code == 302


def test_a_domain_restricted_site_admits_its_domains_and_names_them_to_others(client, api, school_domains):
    page = client.get("/accounts/register/").content.decode()
    assert "@school.edu" in page
    outsider = FORM | {"email": "nia@gmail.example"}
    response = client.post("/accounts/register/", outsider)
    assert response.status_code == 200
    assert "Register with your school e-mail address (@school.edu)." in response.content.decode()
    refused = api.post("/api/auth/register", API | {"email": "nia@gmail.example"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "EMAIL_DOMAIN_NOT_ALLOWED"
    assert refused.json()["error"]["details"] == {"allowedDomains": ["school.edu"]}
    assert client.post("/accounts/register/", FORM).status_code == 200
    assert confirm_by_link(client, FORM["email"]).status_code == 302
    sub = API | {"email": "ivo@students.school.edu"}
    assert api.post("/api/auth/register", sub, format="json").status_code == 202
    assert confirm_by_link(client, sub["email"], sub["password"]).status_code == 302
    assert set(User.objects.values_list("email", flat=True)) == {
        "new.student@school.edu",
        "ivo@students.school.edu",
    }
    assert not [m for m in mail.outbox if m.to == ["nia@gmail.example"]]


def test_a_link_from_before_registration_closed_creates_no_account(client, settings):
    client.post("/accounts/register/", FORM)
    settings.REGISTRATION_POLICY = "closed"
    assert confirm_by_link(client, FORM["email"]).status_code == 403
    assert not User.objects.filter(email=FORM["email"]).exists()


@pytest.mark.parametrize(
    ("email", "allowed"),
    [
        ("a@school.edu", True),
        ("a@SCHOOL.EDU", True),
        ("a@students.school.edu", True),
        ("a@evilschool.edu", False),
        ("a@school.edu.example.com", False),
        ("school.edu@gmail.example", False),
        ("a@", False),
    ],
)
def test_a_domain_matches_itself_and_its_subdomains_only(email, allowed):
    assert email_domain_allowed(email, ["school.edu"]) is allowed


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"REGISTRATION_POLICY": "invite-only"}, "REGISTRATION_POLICY must be open, closed or domains"),
        ({"REGISTRATION_POLICY": "domains"}, "needs REGISTRATION_EMAIL_DOMAINS"),
    ],
)
def test_a_policy_the_settings_cannot_honour_stops_start_up(tmp_path, env, error):
    import subprocess

    result = subprocess.run(
        [PYTHON, "-c", "import django; django.setup()"],
        cwd=REPO_ROOT,
        env=child_env(DATABASE_URL=None, REDIS_URL=None, PROCTO_LOCAL_DIR=str(tmp_path), **env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert error in result.stderr
