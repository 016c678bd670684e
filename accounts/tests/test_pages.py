import pytest

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
    assert b"Welcome, Grace" in response.content


def test_a_wrong_password_shows_an_error_and_stays_logged_out(client):
    user = UserFactory()
    response = client.post("/accounts/login/", {"username": user.email, "password": "nope"})
    assert response.status_code == 200
    assert b'role="alert"' in response.content
    assert client.get("/").status_code == 302
