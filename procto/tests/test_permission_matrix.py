"""Every API route x every role x own/other object -> expected status, from one table.

When a route is added, `test_every_api_route_is_in_the_matrix` fails until a row says who may
use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.identity_files import identity_file_url
from accounts.tests.factories import UserFactory
from exams.tests.factories import ExamFactory
from procto.encrypted_files import store_encrypted
from proctoring.models import ProctoringEvent
from sessions.tests.factories import ExamSessionFactory

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "student", "teacher", "proctor", "admin")


@dataclass(frozen=True)
class Row:
    route: str  # the URL pattern, as Django lists it
    method: str
    expected: dict[str, int]  # role -> status
    obj: str | None = None  # "own" or "other": whose exam/session the path names, per role
    body: dict = field(default_factory=dict)
    fmt: str = "json"


def everyone(anonymous: int, others: int) -> dict[str, int]:
    return {"anonymous": anonymous} | {role: others for role in ROLES[1:]}


def roles(anonymous=401, student=None, teacher=None, proctor=None, admin=None) -> dict[str, int]:
    return {
        "anonymous": anonymous,
        "student": student,
        "teacher": teacher,
        "proctor": proctor,
        "admin": admin,
    }


def exam_fields_body() -> dict:
    """Changes to an exam's fields only: questions cannot change once students have started."""
    body = new_exam_body()
    del body["questions"]
    return body


def new_exam_body() -> dict:
    now = timezone.now()
    return {
        "title": "Matrix exam",
        "duration": 30,
        "startTime": now.isoformat(),
        "endTime": (now + timedelta(days=1)).isoformat(),
        "settings": {"allowedAttempts": 1, "securityLevel": "low"},
        "questions": [{"type": "Paragraph", "questionText": "Why?"}],
    }


SESSION = "api/exam-sessions/<str:session_id>"
EXAM = "api/exams/<str:exam_id>"
ANSWER = {"answers": [], "sequence": 1}
EVENT = {"type": "tab-switch", "severity": "medium"}

CHECK = {"items": {"browser": True, "websocket": True}}

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
        roles(student=400, teacher=403, proctor=403, admin=403),
        fmt="multipart",
    ),
    Row("api/schema", "GET", everyone(200, 200)),  # the OpenAPI description is public
    # --- exams: "own" is the teacher's exam, the proctor's assigned exam, the open exam the
    # student sits; "other" is another teacher's unpublished draft.
    Row("api/exams", "GET", everyone(401, 200)),
    Row("api/exams", "POST", roles(student=403, teacher=201, proctor=403, admin=201), body=new_exam_body()),
    Row(EXAM, "GET", roles(student=200, teacher=200, proctor=200, admin=200), obj="own"),
    Row(EXAM, "GET", roles(student=404, teacher=404, proctor=404, admin=200), obj="other"),
    Row(
        EXAM,
        "PUT",
        roles(student=403, teacher=200, proctor=403, admin=200),
        obj="own",
        body=exam_fields_body(),
    ),
    Row(
        EXAM,
        "PUT",
        roles(student=404, teacher=404, proctor=404, admin=200),
        obj="other",
        body=new_exam_body(),
    ),
    # Only admins delete; an exam students have sat cannot be deleted at all.
    Row(EXAM, "DELETE", roles(student=403, teacher=403, proctor=403, admin=409), obj="own"),
    Row(EXAM, "DELETE", roles(student=403, teacher=403, proctor=403, admin=204), obj="other"),
    # --- sessions: "own" is the student's own session (on the exam the teacher owns and the
    # proctor watches); "other" is a session the role has no business with.
    Row(
        "api/exam-sessions/start", "POST", roles(student=200, teacher=403, proctor=403, admin=403), obj="own"
    ),
    Row("api/exam-sessions/live", "GET", roles(student=403, teacher=200, proctor=200, admin=200)),
    Row("api/exam-sessions/reports", "GET", roles(student=403, teacher=200, proctor=200, admin=200)),
    Row(SESSION, "GET", roles(student=200, teacher=200, proctor=200, admin=200), obj="own"),
    Row(SESSION, "GET", roles(student=404, teacher=404, proctor=404, admin=200), obj="other"),
    Row(
        f"{SESSION}/save-answers",
        "PUT",
        roles(student=200, teacher=403, proctor=403, admin=403),
        obj="own",
        body=ANSWER,
    ),
    Row(
        f"{SESSION}/save-answers",
        "PUT",
        roles(student=404, teacher=403, proctor=403, admin=403),
        obj="other",
        body=ANSWER,
    ),
    Row(f"{SESSION}/submit", "PUT", roles(student=200, teacher=403, proctor=403, admin=403), obj="own"),
    Row(f"{SESSION}/submit", "PUT", roles(student=404, teacher=403, proctor=403, admin=403), obj="other"),
    Row(
        f"{SESSION}/log-event",
        "POST",
        roles(student=201, teacher=403, proctor=403, admin=403),
        obj="own",
        body=EVENT,
    ),
    Row(
        f"{SESSION}/log-event",
        "POST",
        roles(student=404, teacher=403, proctor=403, admin=403),
        obj="other",
        body=EVENT,
    ),
    Row(f"{SESSION}/export", "GET", roles(student=403, teacher=200, proctor=200, admin=200), obj="own"),
    # --- proctor actions: "own" is a session on the exam the proctor watches / teacher owns
    Row(
        f"{SESSION.replace('<str:', '<uuid:')}/actions",
        "POST",
        roles(student=403, teacher=201, proctor=201, admin=201),
        obj="own",
        body={"type": "note", "text": "checked"},
    ),
    Row(
        f"{SESSION.replace('<str:', '<uuid:')}/actions",
        "POST",
        roles(student=403, teacher=404, proctor=404, admin=201),
        obj="other",
        body={"type": "note", "text": "checked"},
    ),
    Row(
        "api/proctoring-events/<int:event_id>/review",
        "POST",
        roles(student=403, teacher=200, proctor=200, admin=200),
        obj="own",
        body={"status": "dismissed"},
    ),
    Row(
        "api/proctoring-events/<int:event_id>/review",
        "POST",
        roles(student=403, teacher=404, proctor=404, admin=200),
        obj="other",
        body={"status": "dismissed"},
    ),
    # --- the steps before and around an exam (students only, on exams they may sit)
    Row("api/system-check/bandwidth", "POST", roles(student=200, teacher=403, proctor=403, admin=403)),
    Row(
        f"{EXAM}/system-check",
        "POST",
        roles(student=201, teacher=403, proctor=403, admin=403),
        obj="own",
        body=CHECK,
    ),
    Row(
        f"{EXAM}/system-check",
        "POST",
        roles(student=404, teacher=403, proctor=403, admin=403),
        obj="other",
        body=CHECK,
    ),
    # Without a capture the student gets 400; the capture path has its own tests.
    Row(
        f"{EXAM}/identity-check",
        "POST",
        roles(student=400, teacher=403, proctor=403, admin=403),
        obj="own",
        fmt="multipart",
    ),
    Row(
        f"{EXAM}/identity-check",
        "POST",
        roles(student=404, teacher=403, proctor=403, admin=403),
        obj="other",
        fmt="multipart",
    ),
    Row(
        f"{SESSION}/room-scan",
        "POST",
        roles(student=400, teacher=403, proctor=403, admin=403),
        obj="own",
        fmt="multipart",
    ),
    Row(
        f"{SESSION}/room-scan",
        "POST",
        roles(student=404, teacher=403, proctor=403, admin=403),
        obj="other",
        fmt="multipart",
    ),
    Row(f"{SESSION}/export", "GET", roles(student=403, teacher=404, proctor=404, admin=200), obj="other"),
]


@pytest.fixture
def world(student, other_student, teacher, proctor, admin_user) -> dict:
    """Exam A (the teacher's, open, proctor assigned) with the student's and a classmate's
    sessions; exam B, another teacher's unpublished draft; a stranger's session on exam C."""
    exam_a = ExamFactory(created_by=teacher, is_published=True)
    exam_a.proctors.add(proctor)
    exam_b = ExamFactory(is_published=False)
    own_session = ExamSessionFactory(student=student, exam=exam_a)
    classmate_session = ExamSessionFactory(student=other_student, exam=exam_a)
    stranger_session = ExamSessionFactory(exam=ExamFactory(is_published=True))
    people = {"student": student, "teacher": teacher, "proctor": proctor, "admin": admin_user}
    own_event = ProctoringEvent.objects.create(
        session=own_session, type="tab-switch", source="client", occurred_at=timezone.now()
    )
    stranger_event = ProctoringEvent.objects.create(
        session=stranger_session, type="tab-switch", source="client", occurred_at=timezone.now()
    )
    own = {"exam_id": exam_a.pk, "session_id": own_session.pk, "event_id": own_event.pk}
    other = {"exam_id": exam_b.pk, "session_id": stranger_session.pk, "event_id": stranger_event.pk}
    return {
        "people": people,
        "own": own,
        # For the student "other" is a classmate's session on the same exam.
        "other": {
            "student": {
                "exam_id": exam_b.pk,
                "session_id": classmate_session.pk,
                "event_id": stranger_event.pk,
            }
        },
        "other_default": other,
    }


def row_path(row: Row, world: dict, role: str) -> str:
    path = "/" + row.route
    if row.obj is None:
        return path
    ids = world["own"] if row.obj == "own" else world["other"].get(role, world["other_default"])
    for pattern, key in (
        ("<str:exam_id>", "exam_id"),
        ("<str:session_id>", "session_id"),
        ("<uuid:session_id>", "session_id"),
        ("<int:event_id>", "event_id"),
    ):
        path = path.replace(pattern, str(ids[key]))
    return path


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
    ids=lambda value: f"{value.method} {value.route} {value.obj or ''}" if isinstance(value, Row) else value,
)
def test_role_gets_the_expected_status(api, world, row: Row, role: str):
    body = dict(row.body)
    if row.route == "api/exam-sessions/start":
        body = {"examId": world["own"]["exam_id"]}
    if role != "anonymous":
        api.force_authenticate(world["people"][role])
    response = getattr(api, row.method.lower())(row_path(row, world, role), body, format=row.fmt)
    assert response.status_code == row.expected[role], response.content[:300]


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
