"""Every API route x every role x own/other object -> expected status, from one table.

When a route is added, `test_every_api_route_is_in_the_matrix` fails until a row says who may
use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.identity_files import identity_file_url
from accounts.tests.factories import UserFactory
from procto.encrypted_files import store_encrypted

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "student", "teacher", "proctor", "admin")


@dataclass(frozen=True)
class Row:
    route: str  # the URL pattern, as Django lists it
    method: str
    expected: dict[str, int]  # role (or "role:own"/"role:other") -> status
    body: dict = field(default_factory=dict)
    fmt: str = "json"

    def path(self, **kwargs) -> str:
        return "/" + self.route.format(**kwargs)


def everyone(anonymous: int, others: int) -> dict[str, int]:
    return {"anonymous": anonymous} | {role: others for role in ROLES[1:]}


MATRIX = [
    Row("api/auth/profile", "GET", everyone(401, 200)),
    Row("api/auth/ws-ticket", "POST", everyone(401, 200)),
    Row("api/auth/logout", "POST", everyone(401, 200)),
    Row("api/auth/refresh", "POST", everyone(401, 401), body={"refreshToken": "not-a-token"}),
    Row(
        "api/auth/login",
        "POST",
        everyone(401, 401),
        body={"email": "nobody@school.example", "password": "wrong-password"},
    ),
    Row("api/auth/register", "POST", everyone(400, 400), body={"email": "not-an-email"}),
    # A student without uploaded images gets 400 "upload your photo"; staff may not verify.
    Row(
        "api/auth/verify-identity",
        "POST",
        {"anonymous": 401, "student": 400, "teacher": 403, "proctor": 403, "admin": 403},
        fmt="multipart",
    ),
    Row("api/schema", "GET", everyone(200, 200)),  # the OpenAPI description is public
]

# A student's identity image, by a short-lived URL minted for the viewer: own, or another's.
IDENTITY_FILE_EXPECTED = {
    "anonymous": 302,  # to the login page
    "student:own": 200,
    "student:other": 403,
    "teacher:other": 200,
    "proctor:other": 200,
    "admin:other": 200,
}


@pytest.fixture
def people(student, teacher, proctor, admin_user) -> dict:
    return {"student": student, "teacher": teacher, "proctor": proctor, "admin": admin_user}


def api_routes() -> set[str]:
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    return {route for route in walk(get_resolver().url_patterns) if route.startswith("api/")}


def test_every_api_route_is_in_the_matrix():
    assert api_routes() == {row.route for row in MATRIX}


@pytest.mark.parametrize(
    ("row", "role"),
    [(row, role) for row in MATRIX for role in row.expected],
    ids=lambda value: value.route if isinstance(value, Row) else value,
)
def test_role_gets_the_expected_status(api, people, row: Row, role: str):
    if role != "anonymous":
        api.force_authenticate(people[role])
    response = getattr(api, row.method.lower())(row.path(), row.body, format=row.fmt)
    assert response.status_code == row.expected[role], response.content[:300]


@pytest.fixture
def students_photo(student, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    student.photo = store_encrypted(b"\xff\xd8\xff fake jpeg bytes", folder="identity/photos")
    student.save()
    return student


@pytest.mark.parametrize("who", IDENTITY_FILE_EXPECTED)
def test_identity_images_are_served_only_to_whom_they_may_be(client, people, students_photo, who):
    role, _, owner = who.partition(":")
    if role == "anonymous":
        url = identity_file_url(owner=students_photo, kind="photo", viewer=students_photo)
    elif owner == "own":
        client.force_login(students_photo)
        url = identity_file_url(owner=students_photo, kind="photo", viewer=students_photo)
    elif role == "student":
        classmate = UserFactory(role="student")
        client.force_login(classmate)
        # A classmate cannot get a URL minted, and the owner's URL does not work for them.
        assert identity_file_url(owner=students_photo, kind="photo", viewer=classmate) is None
        url = identity_file_url(owner=students_photo, kind="photo", viewer=students_photo)
    else:
        viewer = people[role]
        client.force_login(viewer)
        url = identity_file_url(owner=students_photo, kind="photo", viewer=viewer)
    response = client.get(url)
    assert response.status_code == IDENTITY_FILE_EXPECTED[who]
    if response.status_code == 200:
        assert response["Cache-Control"] == "private, no-store"
