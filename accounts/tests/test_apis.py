"""The /api/auth endpoints speak the reference document's envelope and camelCase fields."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.core import mail

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

REGISTRATION = {
    "email": "new.student@school.example",
    "password": "a-long-unusual-passphrase",
    "firstName": "Nia",
    "lastName": "New",
    "institutionId": "Springfield High",
}


def login(api, email: str, password: str = DEFAULT_PASSWORD, **extra):
    return api.post("/api/auth/login", {"email": email, "password": password}, format="json", **extra)


def registration_token(email: str) -> str:
    """The token of the link in the last e-mail to `email` (the registration's confirmation)."""
    body = next(m.body for m in reversed(mail.outbox) if m.to == [email])
    return re.search(r"/accounts/register/confirm/([^/\s]+)/", body).group(1)


def register_and_confirm(api, fields=REGISTRATION):
    assert api.post("/api/auth/register", fields, format="json").status_code == 202
    token = registration_token(fields["email"])
    return api.post(
        "/api/auth/register/confirm", {"token": token, "password": fields["password"]}, format="json"
    )


def test_registration_creates_a_student_from_the_emailed_link_and_returns_tokens_in_the_envelope(api):
    response = api.post("/api/auth/register", REGISTRATION, format="json")
    assert response.status_code == 202
    assert "Check your inbox" in response.json()["data"]["message"]
    assert not User.objects.filter(email=REGISTRATION["email"]).exists()
    response = api.post(
        "/api/auth/register/confirm",
        {"token": registration_token(REGISTRATION["email"]), "password": REGISTRATION["password"]},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True and body["timestamp"].endswith("Z")
    data = body["data"]
    assert data["accessToken"] and data["refreshToken"] and data["tokenType"] == "Bearer"
    assert data["expiresIn"] == 900
    assert data["user"]["firstName"] == "Nia"
    assert data["user"]["institutionId"] == "Springfield High"
    assert data["user"]["role"] == "student"
    assert data["user"]["isVerified"] is False
    assert User.objects.get(email="new.student@school.example").role == "student"


def test_registration_cannot_choose_a_role(api):
    register_and_confirm(api, REGISTRATION | {"role": "admin"})
    assert User.objects.get(email=REGISTRATION["email"]).role == "student"


def test_registering_a_taken_email_answers_as_for_a_new_one_and_sends_its_owner_a_notice(api, student):
    taken = api.post("/api/auth/register", REGISTRATION | {"email": student.email.upper()}, format="json")
    new = api.post("/api/auth/register", REGISTRATION, format="json")
    assert taken.status_code == new.status_code == 202
    assert taken.json()["data"] == new.json()["data"]
    notice, link = mail.outbox
    assert notice.to == [student.email.upper()] and "Someone tried to register" in notice.subject
    assert "/accounts/login/" in notice.body and "/accounts/password/reset/" in notice.body
    assert link.to == [REGISTRATION["email"]] and "/accounts/register/confirm/" in link.body
    assert login(api, student.email).status_code == 200  # the account is untouched


def test_a_registration_link_works_once_and_only_with_the_password_chosen(api):
    api.post("/api/auth/register", REGISTRATION, format="json")
    token = registration_token(REGISTRATION["email"])
    confirm = {"token": token, "password": "someone-elses-guess-42"}
    wrong = api.post("/api/auth/register/confirm", confirm, format="json")
    assert wrong.status_code == 401
    assert not User.objects.filter(email=REGISTRATION["email"]).exists()
    confirm["password"] = REGISTRATION["password"]
    assert api.post("/api/auth/register/confirm", confirm, format="json").status_code == 201
    again = api.post("/api/auth/register/confirm", confirm, format="json")
    assert (again.status_code, again.json()["error"]["code"]) == (400, "REGISTRATION_LINK_INVALID")


def test_a_registration_link_expires(api, clock, settings):
    settings.REGISTRATION_LINK_SECONDS = 3600
    api.post("/api/auth/register", REGISTRATION, format="json")
    clock.shift(3600)
    response = api.post(
        "/api/auth/register/confirm",
        {"token": registration_token(REGISTRATION["email"]), "password": REGISTRATION["password"]},
        format="json",
    )
    assert response.status_code == 400


def test_a_weak_password_is_refused_with_camelcase_field_details(api):
    response = api.post("/api/auth/register", REGISTRATION | {"password": "12345678"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert response.json()["success"] is False


def test_missing_fields_are_reported_by_their_camelcase_names(api):
    response = api.post("/api/auth/register", {"email": "x@school.example"}, format="json")
    assert response.status_code == 400
    assert {"password", "firstName", "lastName"} <= set(response.json()["error"]["details"])


@pytest.mark.real_hashers
def test_passwords_are_stored_with_argon2(api):
    register_and_confirm(api)
    user = User.objects.get(email=REGISTRATION["email"])
    assert identify_hasher(user.password).algorithm == "argon2"


def test_login_returns_a_token_pair_that_reaches_the_profile(api, student):
    response = login(api, student.email)
    assert response.status_code == 200
    access = response.json()["data"]["accessToken"]
    profile = api.get("/api/auth/profile", HTTP_AUTHORIZATION=f"Bearer {access}").json()
    assert profile["success"] is True
    assert profile["data"]["email"] == student.email
    assert {"firstName", "lastName", "isVerified", "role", "photoUrl"} <= set(profile["data"])


def test_wrong_password_and_unknown_email_get_the_same_answer(api, student):
    wrong = login(api, student.email, "not-the-password")
    unknown = login(api, "nobody@school.example", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]
    assert wrong.json()["error"]["code"] == unknown.json()["error"]["code"] == "INVALID_CREDENTIALS"


def test_malformed_json_is_a_400_envelope_not_a_500(api):
    response = api.generic("POST", "/api/auth/login", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MALFORMED_REQUEST"


def test_profile_without_credentials_is_a_401_envelope(api):
    response = api.get("/api/auth/profile")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_api_path_is_a_404_envelope(api):
    response = api.get("/api/auth/nothing-here")
    assert response.status_code == 404
    assert response.json()["success"] is False
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_a_wrong_method_is_a_405_envelope(api):
    response = api.get("/api/auth/login")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_an_unexpected_error_is_logged_and_hidden_behind_a_500_envelope(api, student, monkeypatch, caplog):
    from accounts import apis

    def explode(*args, **kwargs):
        raise RuntimeError("database on fire: secret internals")

    monkeypatch.setattr(apis.services, "token_pair_issue", explode)
    response = login(api, student.email)
    assert response.status_code == 500
    body = response.json()
    assert body["error"]["code"] == "INTERNAL_ERROR"
    assert "secret internals" not in response.content.decode()
    assert "database on fire" in caplog.text


def test_logout_ends_this_login_only(api, student):
    laptop = login(api, student.email).json()["data"]
    phone = login(api, student.email).json()["data"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {laptop['accessToken']}")
    assert api.post("/api/auth/logout", {}, format="json").status_code == 200
    assert api.get("/api/auth/profile").status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {phone['accessToken']}")
    assert api.get("/api/auth/profile").status_code == 200


def test_logout_everywhere_ends_every_login(api, student):
    laptop = login(api, student.email).json()["data"]
    phone = login(api, student.email).json()["data"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {laptop['accessToken']}")
    api.post("/api/auth/logout", {"everywhere": True}, format="json")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {phone['accessToken']}")
    assert api.get("/api/auth/profile").status_code == 401
    refresh = api.post("/api/auth/refresh", {"refreshToken": phone["refreshToken"]}, format="json")
    assert refresh.status_code == 401


def test_a_page_session_reaches_the_api_too(client, student):
    client.force_login(student)
    response = client.get("/api/auth/profile")
    assert response.status_code == 200
    assert response.json()["data"]["email"] == student.email
