import re

import pytest
from django.core import mail
from django.http import HttpRequest

from accounts.models import User
from accounts.tests import identity_images as ids
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_page_logs_a_user_in_and_greets_them_by_name(client):
    user = UserFactory(first_name="Grace")
    page = client.get("/accounts/login/")
    assert b'autocomplete="email"' in page.content

    response = client.post(
        "/accounts/login/", {"username": user.email, "password": DEFAULT_PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert b"Your exams" in response.content and b"Grace" in response.content


def test_a_wrong_password_shows_an_error_and_stays_logged_out(client):
    user = UserFactory()
    response = client.post("/accounts/login/", {"username": user.email, "password": "nope"})
    assert response.status_code == 200
    assert b'role="alert"' in response.content
    assert b"Invalid e-mail or password." in response.content
    assert client.get("/").status_code == 302


REN = {
    "first_name": "Ren",
    "last_name": "Reg",
    "email": "ren@school.example",
    "institution": "Springfield",
    "password": "a-long-unusual-passphrase",
    "password_again": "a-long-unusual-passphrase",
}


def test_a_student_registers_follows_the_emailed_link_and_lands_on_their_profile_logged_in(client):
    sent = client.post("/accounts/register/", REN)
    assert b"Check your e-mail" in sent.content and b"ren@school.example" in sent.content
    assert not User.objects.filter(email="ren@school.example").exists()
    link = re.search(r"http://[^/]+(/accounts/register/confirm/\S+/)", mail.outbox[0].body).group(1)
    assert b"Type the password you chose" in client.get(link).content
    wrong = client.post(link, {"password": "not-what-i-chose"})
    assert b"That is not the password you chose" in wrong.content
    response = client.post(link, {"password": REN["password"]}, follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/profile/"
    assert b"Your account is ready" in response.content
    assert User.objects.get(email="ren@school.example").role == "student"
    assert b"expired or was already used" in client.post(link, {"password": REN["password"]}).content


def test_registering_a_taken_address_shows_the_same_page_and_emails_its_owner(client, student):
    taken = client.post("/accounts/register/", REN | {"email": student.email}).content.decode()
    new = client.post("/accounts/register/", REN).content.decode()

    # The header's language picker carries a CSRF token, masked afresh on every page.
    def same(page: str, email: str) -> str:
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "TOKEN", page.replace(email, "ADDRESS"))

    assert same(taken, student.email) == same(new, REN["email"])
    assert "already" not in taken.replace("If the address already has an account", "")
    assert [m.subject for m in mail.outbox] == [
        "[Procto] Someone tried to register with your address",
        "[Procto] Finish creating your account",
    ]


def test_registration_explains_what_is_wrong(client, student):
    response = client.post(
        "/accounts/register/",
        {
            "first_name": "Ren",
            "last_name": "Reg",
            "email": student.email,
            "password": "password",
            "password_again": "different",
        },
    )
    assert b"The two passwords differ." in response.content
    response = client.post(
        "/accounts/register/", REN | {"password": "12345678", "password_again": "12345678"}
    )
    assert b"This password is too common." in response.content
    assert not mail.outbox


def test_password_reset_sends_a_working_link_by_email(client, student):
    assert b"<h1>Reset your password</h1>" in client.get("/accounts/password/reset/").content
    client.post("/accounts/password/reset/", {"email": student.email})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    form = client.get(link.group(1), follow=True)
    response = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "fresh-new-passphrase-9", "new_password2": "fresh-new-passphrase-9"},
        follow=True,
    )
    assert b"Password saved" in response.content
    # The login throttle (django-axes) needs the request of an attempt.
    assert client.login(request=HttpRequest(), email=student.email, password="fresh-new-passphrase-9")


def test_password_reset_for_an_unknown_email_looks_the_same_and_sends_nothing(client):
    response = client.post("/accounts/password/reset/", {"email": "ghost@school.example"}, follow=True)
    assert b"Check your e-mail" in response.content
    assert mail.outbox == []


def test_changing_the_password_keeps_this_session_and_ends_the_others(client, student):
    from django.test import Client

    other_device = Client()
    other_device.force_login(student)
    client.force_login(student)
    response = client.post(
        "/accounts/password/change/",
        {
            "old_password": DEFAULT_PASSWORD,
            "new_password1": "fresh-new-passphrase-9",
            "new_password2": "fresh-new-passphrase-9",
        },
        follow=True,
    )
    assert b"Password changed" in response.content
    assert client.get("/accounts/profile/").status_code == 200
    assert other_device.get("/accounts/profile/").status_code == 302


def test_profile_edits_are_saved(client, student):
    client.force_login(student)
    client.post("/accounts/profile/", {"first_name": "Stella", "last_name": "Star", "institution": "MIT"})
    student.refresh_from_db()
    assert (student.first_name, student.institution) == ("Stella", "MIT")


def test_a_student_verifies_from_the_profile_page_and_sees_their_photo(client, student, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(student)
    response = client.post(
        "/accounts/profile/identity/",
        {
            "photo": ids.upload_file("me.jpg", ids.astronaut_photo()),
            "id_card": ids.upload_file("id.jpg", ids.astronaut_id_card()),
        },
        follow=True,
    )
    assert b"Your identity is verified." in response.content
    photo_url = re.search(rb'src="(/accounts/files/[^"]+)"', response.content).group(1).decode()
    image = client.get(photo_url)
    assert image.status_code == 200 and image.content.startswith(b"\xff\xd8")


def test_a_cat_photo_on_the_profile_page_says_no_face_was_found(client, student, settings, tmp_path):
    from proctoring.tests import faces

    settings.MEDIA_ROOT = tmp_path
    client.force_login(student)
    response = client.post(
        "/accounts/profile/identity/",
        {
            "photo": ids.upload_file("cat.jpg", faces.jpeg_bytes(faces.cat())),
            "id_card": ids.upload_file("id.jpg", ids.astronaut_id_card()),
        },
        follow=True,
    )
    assert b"No face" in response.content
    student.refresh_from_db()
    assert not student.is_verified
