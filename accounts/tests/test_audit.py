"""The audit trail: logins (pages, admin, API) and role changes, with the address and browser they
came from, readable by administrators only and never editable."""

from __future__ import annotations

import pytest

from accounts.models import AuditEntry, User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chromium/156"


def test_a_page_login_is_audited_with_its_address_and_browser(client, student):
    response = client.post(
        "/accounts/login/",
        {"username": student.email, "password": DEFAULT_PASSWORD},
        REMOTE_ADDR="198.51.100.7",
        HTTP_USER_AGENT=BROWSER,
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="login")
    assert (entry.actor, entry.target, entry.ip, entry.user_agent) == (
        student,
        student,
        "198.51.100.7",
        BROWSER,
    )


def test_an_api_login_and_logout_are_audited(api, student):
    response = api.post(
        "/api/auth/login",
        {"email": student.email, "password": DEFAULT_PASSWORD},
        format="json",
        REMOTE_ADDR="203.0.113.9",
        HTTP_USER_AGENT="procto-cli/1.0",
    )
    assert response.status_code == 200
    access = response.json()["data"]["accessToken"]
    login = AuditEntry.objects.get(action="login")
    assert (login.actor, login.ip, login.user_agent) == (student, "203.0.113.9", "procto-cli/1.0")
    student.refresh_from_db()
    assert student.last_login is not None  # as a page login sets it
    api.post(
        "/api/auth/logout",
        {},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {access}",
        REMOTE_ADDR="203.0.113.9",
    )
    logout = AuditEntry.objects.get(action="logout")
    assert (logout.actor, logout.ip) == (student, "203.0.113.9")


def test_a_wrong_password_is_not_a_login(api, student):
    api.post("/api/auth/login", {"email": student.email, "password": "wrong"}, format="json")
    assert not AuditEntry.objects.filter(action="login").exists()


def test_an_admin_making_a_student_a_teacher_is_audited_with_who_did_it(client, admin_user, student):
    client.force_login(admin_user)
    AuditEntry.objects.all().delete()  # force_login's own entry
    page = client.get(f"/admin/accounts/user/{student.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name in form.fields}
    data.update(role="teacher", is_staff="on", email=student.email)
    data = {key: value for key, value in data.items() if not isinstance(value, (list, tuple, dict))}
    response = client.post(
        f"/admin/accounts/user/{student.pk}/change/", data, REMOTE_ADDR="192.0.2.1", HTTP_USER_AGENT=BROWSER
    )
    assert response.status_code == 302, (
        response.context["adminform"].form.errors if response.context else response
    )
    student.refresh_from_db()
    assert student.role == "teacher"
    entry = AuditEntry.objects.get(action="role-change")
    assert (entry.actor, entry.target, entry.ip, entry.user_agent) == (
        admin_user,
        student,
        "192.0.2.1",
        BROWSER,
    )
    assert entry.details["changed"]["role"] == {"from": "student", "to": "teacher"}
    assert entry.details["changed"]["is_staff"] == {"from": False, "to": True}


def test_saving_a_user_without_changing_the_role_is_not_a_role_change(student):
    student.first_name = "Renamed"
    student.save()
    student.last_login = student.date_joined
    student.save(update_fields=["last_login"])
    assert not AuditEntry.objects.filter(action="role-change").exists()


def test_creating_a_staff_account_is_a_role_granted(db):
    teacher = User.objects.create_user("new-teacher@school.example", "pw-long-enough-1", role="teacher")
    entry = AuditEntry.objects.get(action="role-change")
    assert entry.target == teacher and entry.details["changed"]["role"] == {"from": None, "to": "teacher"}
    UserFactory()  # a student: nothing granted
    assert AuditEntry.objects.filter(action="role-change").count() == 1


def test_the_trail_outlives_the_accounts_it_names(student):
    AuditEntry.objects.create(
        action="login", actor=student, actor_ref=student.pk, target=student, target_ref=student.pk
    )
    pk = student.pk
    student.delete()
    entry = AuditEntry.objects.get(action="login")
    assert (entry.actor, entry.actor_ref, entry.target_ref) == (None, pk, pk)


def test_only_administrators_read_the_trail_and_nobody_edits_it(client, admin_user, teacher, student):
    entry = AuditEntry.objects.create(action="login", actor=student, actor_ref=student.pk)
    client.force_login(teacher)
    assert client.get("/admin/accounts/auditentry/").status_code == 403
    client.force_login(admin_user)
    assert client.get("/admin/accounts/auditentry/").status_code == 200
    assert client.post(f"/admin/accounts/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_a_deleted_persons_own_entries_keep_what_happened_but_not_where_from(client, admin_user, student):
    from accounts.personal_data import account_delete

    client.post(
        "/accounts/login/",
        {"username": student.email, "password": DEFAULT_PASSWORD},
        REMOTE_ADDR="198.51.100.7",
        HTTP_USER_AGENT=BROWSER,
    )
    pk = student.pk
    account_delete(actor=admin_user, user=student)
    login = AuditEntry.objects.get(action="login")
    assert (login.actor_ref, login.ip, login.user_agent) == (pk, None, "")
    deletion = AuditEntry.objects.get(action="account-delete")
    assert deletion.actor == admin_user and deletion.target_ref == pk
