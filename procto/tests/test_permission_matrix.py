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
from exams.tests.factories import ExamFactory
from procto.encrypted_files import store_encrypted
from proctoring.models import ProctoringEvent
from sessions.models import Admission, ExamSession

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "student", "teacher", "proctor", "admin")


@dataclass(frozen=True)
class Row:
    route: str  # the URL pattern, as Django lists it
    method: str
    expected: dict[str, int]  # role -> status
    obj: str | None = None  # "own" or "other": whose exam/session the path names, per role
    body: dict | bytes = field(default_factory=dict)
    fmt: str = "json"
    content_type: str | None = None  # a raw body sent as is, instead of `fmt`


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
COURSE_STUDENTS = "api/courses/<str:course_id>/students"
COURSE_STUDENT = "api/courses/<str:course_id>/students/<str:user_id>"
EXAM = "api/exams/<str:exam_id>"
ANSWER = {"answers": [], "sequence": 1}
EVENT = {"type": "tab-switch", "severity": "medium"}

CHECK = {"items": {"browser": True, "websocket": True}}
ADMISSION_DECIDE = "api/exam-sessions/admissions/<int:admission_id>/decide"

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
    Row("api/auth/register/confirm", "POST", everyone(400, 400), body={"token": "x", "password": "y"}),
    # A student without uploaded images gets 400 "upload your photo"; staff may not verify.
    Row(
        "api/auth/verify-identity",
        "POST",
        roles(student=400, teacher=403, proctor=403, admin=403),
        fmt="multipart",
    ),
    Row("api/schema", "GET", everyone(200, 200)),  # the OpenAPI description is public
    Row("api/docs", "GET", everyone(200, 200)),  # and so is its Swagger UI page
    Row("api/redoc", "GET", everyone(200, 200)),  # and its Redoc page, with Redoc's script
    Row("api/redoc/redoc.standalone.js", "GET", everyone(200, 200)),
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
    # --- courses: "own" is Physics 101 (Tess teaches it; Sam is enrolled), "other" is Vic's
    # History 201 (Hal is enrolled). Teachers and admins only.
    Row("api/courses", "GET", roles(student=403, teacher=200, proctor=403, admin=200)),
    Row(
        "api/courses",
        "POST",
        roles(student=403, teacher=201, proctor=403, admin=201),
        body={"title": "Matrix course"},
    ),
    Row(
        COURSE_STUDENTS,
        "POST",
        roles(student=403, teacher=200, proctor=403, admin=200),
        obj="own",
        body={"emails": ["sid@school.example"]},
    ),
    Row(
        COURSE_STUDENTS,
        "POST",
        roles(student=403, teacher=404, proctor=403, admin=200),
        obj="other",
        body={"emails": ["sid@school.example"]},
    ),
    Row(COURSE_STUDENT, "DELETE", roles(student=403, teacher=204, proctor=403, admin=204), obj="own"),
    Row(COURSE_STUDENT, "DELETE", roles(student=403, teacher=404, proctor=403, admin=204), obj="other"),
    # Students join with a course's code; this one cannot exist (join codes have no O): 404.
    Row(
        "api/courses/join",
        "POST",
        roles(student=404, teacher=403, proctor=403, admin=403),
        body={"code": "NOSUCHOU"},
    ),
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
    Row(
        "api/system-check/bandwidth",
        "POST",
        roles(student=200, teacher=403, proctor=403, admin=403),
        body=b"x" * 1024,
        content_type="application/octet-stream",
    ),
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
    # The room scan recorded before the exam starts; without a chunk the student gets 400.
    Row(
        f"{EXAM}/room-scan",
        "POST",
        roles(student=400, teacher=403, proctor=403, admin=403),
        obj="own",
        fmt="multipart",
    ),
    Row(
        f"{EXAM}/room-scan",
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
    # Without a picture the student gets 400; proctoring/tests/test_screen.py covers the rest.
    Row(
        f"{SESSION}/screenshots",
        "POST",
        roles(student=400, teacher=403, proctor=403, admin=403),
        obj="own",
        fmt="multipart",
    ),
    Row(
        f"{SESSION}/screenshots",
        "POST",
        roles(student=404, teacher=403, proctor=403, admin=403),
        obj="other",
        fmt="multipart",
    ),
    Row(f"{SESSION}/export", "GET", roles(student=403, teacher=404, proctor=404, admin=200), obj="other"),
    # --- admission to exams a proctor admits each student to. Exam A needs no admission, so the
    # student's request is a 409 that says so (sessions/tests/test_admissions.py covers the rest).
    Row(f"{EXAM}/admission", "GET", roles(student=200, teacher=403, proctor=403, admin=403), obj="own"),
    Row(f"{EXAM}/admission", "GET", roles(student=404, teacher=403, proctor=403, admin=403), obj="other"),
    Row(f"{EXAM}/admission", "POST", roles(student=409, teacher=403, proctor=403, admin=403), obj="own"),
    Row(f"{EXAM}/admission", "POST", roles(student=404, teacher=403, proctor=403, admin=403), obj="other"),
    Row("api/exam-sessions/admissions", "GET", roles(student=403, teacher=200, proctor=200, admin=200)),
    Row(
        ADMISSION_DECIDE,
        "POST",
        roles(student=403, teacher=200, proctor=200, admin=200),
        obj="own",
        body={"admit": True},
    ),
    Row(
        ADMISSION_DECIDE,
        "POST",
        roles(student=403, teacher=404, proctor=404, admin=200),
        obj="other",
        body={"admit": True},
    ),
]


@pytest.fixture
def targets(world) -> dict:
    """What each role's request names, from the `world`: the student is Stu, the teacher Tess,
    the proctor Pat, the admin Ada. "Own" is physics (Tess's, open, Pat assigned) and Stu's
    session on it; "other" is Vic's unpublished draft and Hal's session on Vic's history, and
    for Stu, his classmate Sam's physics session."""
    vics_draft = ExamFactory(created_by=world.vic, title="Geography draft", is_published=False)
    stus_session = world.stu_in_physics
    sams_session = world.sam_in_physics
    hals_session = world.hal_in_history
    people = {"student": world.stu, "teacher": world.tess, "proctor": world.pat, "admin": world.ada}
    stus_event = ProctoringEvent.objects.create(
        session=stus_session, type="tab-switch", source="client", occurred_at=timezone.now()
    )
    hals_event = ProctoringEvent.objects.create(
        session=hals_session, type="tab-switch", source="client", occurred_at=timezone.now()
    )
    own = {
        "exam_id": world.physics.pk,
        "session_id": stus_session.pk,
        "event_id": stus_event.pk,
        "course_id": world.physics.course_id,
        "user_id": world.sam.pk,
    }
    other = {
        "exam_id": vics_draft.pk,
        "session_id": hals_session.pk,
        "event_id": hals_event.pk,
        "course_id": world.history.course_id,
        "user_id": world.hal.pk,
    }
    # Waiting admission requests: Stu's on physics, Hal's on history.
    own["admission_id"] = Admission.objects.create(
        exam=world.physics, student=world.stu, requested_at=timezone.now()
    ).pk
    other["admission_id"] = Admission.objects.create(
        exam=hals_session.exam, student=hals_session.student, requested_at=timezone.now()
    ).pk
    return {
        "people": people,
        "own": own,
        # For the student "other" is a classmate's session on the same exam.
        "other": {
            "student": {
                "exam_id": vics_draft.pk,
                "session_id": sams_session.pk,
                "event_id": hals_event.pk,
                "admission_id": other["admission_id"],
                "course_id": other["course_id"],
                "user_id": other["user_id"],
            }
        },
        "other_default": other,
    }


def row_path(row: Row, targets: dict, role: str) -> str:
    path = "/" + row.route
    if row.obj is None:
        return path
    ids = targets["own"] if row.obj == "own" else targets["other"].get(role, targets["other_default"])
    for pattern, key in (
        ("<str:exam_id>", "exam_id"),
        ("<str:session_id>", "session_id"),
        ("<uuid:session_id>", "session_id"),
        ("<int:event_id>", "event_id"),
        ("<int:exam_id>", "exam_id"),
        ("<int:admission_id>", "admission_id"),
        ("<str:course_id>", "course_id"),
        ("<str:user_id>", "user_id"),
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
def test_role_gets_the_expected_status(api, targets, row: Row, role: str):
    body = row.body if isinstance(row.body, bytes) else dict(row.body)
    if row.route == "api/exam-sessions/start":
        body = {"examId": targets["own"]["exam_id"]}
    if role != "anonymous":
        api.force_authenticate(targets["people"][role])
    send = getattr(api, row.method.lower())
    if row.content_type:
        response = send(row_path(row, targets, role), body, content_type=row.content_type)
    else:
        response = send(row_path(row, targets, role), body, format=row.fmt)
    assert response.status_code == row.expected[role], response.content[:300]


# A student's identity image, by a short-lived URL minted for the viewer: own, or another's.
# Staff see those of the students of the exams they oversee ("ours"), not of anyone else.
IDENTITY_FILE_EXPECTED = {
    "anonymous": 302,  # to the login page
    "student:own": 200,
    "student:other": 403,
    "teacher:ours": 200,
    "teacher:other": 403,
    "proctor:ours": 200,
    "proctor:other": 403,
    "admin:other": 200,
}


@pytest.fixture
def photo_of(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path

    def upload(student):
        student.photo = store_encrypted(b"\xff\xd8\xff fake jpeg bytes", folder="identity/photos")
        student.save()
        return student

    return upload


@pytest.mark.parametrize("who", IDENTITY_FILE_EXPECTED)
def test_identity_images_are_served_only_to_whom_they_may_be(client, world, photo_of, who):
    role, _, owner = who.partition(":")
    # Tess and Pat oversee Stu (physics), not Hal (Vic's history); Sam is Stu's classmate.
    people = {"teacher": world.tess, "proctor": world.pat, "admin": world.ada}
    students_photo = photo_of(world.hal if owner == "other" and role != "student" else world.stu)
    if role == "anonymous":
        url = identity_file_url(owner=students_photo, kind="photo", viewer=students_photo)
    elif owner == "own":
        client.force_login(students_photo)
        url = identity_file_url(owner=students_photo, kind="photo", viewer=students_photo)
    elif role == "student":
        classmate = world.sam
        client.force_login(classmate)
        # A classmate cannot get a URL minted, and the owner's URL does not work for them.
        assert identity_file_url(owner=students_photo, kind="photo", viewer=classmate) is None
        url = identity_file_url(owner=students_photo, kind="photo", viewer=students_photo)
    else:
        viewer = people[role]
        client.force_login(viewer)
        url = identity_file_url(owner=students_photo, kind="photo", viewer=viewer)
        if owner == "other" and role != "admin":
            assert url is None  # nothing is minted for staff of other exams either
            url = identity_file_url(owner=students_photo, kind="photo", viewer=students_photo)
    response = client.get(url)
    assert response.status_code == IDENTITY_FILE_EXPECTED[who]
    if response.status_code == 200:
        assert response["Cache-Control"] == "private, no-store"


# --- staff pages, by the same table: an anonymous visitor is sent to log in; anyone who does not
# oversee the exam or session learns nothing (404), the student included.
SESSION_PDF = "proctoring/sessions/<uuid:session_id>/report.pdf"
REVIEW_PAGE = "proctoring/sessions/<uuid:session_id>/"
EVENT_SNAPSHOT = "proctoring/events/<int:event_id>/snapshot.jpg"
PAGE_MATRIX = [
    Row("exams/<int:exam_id>/report/", "GET", roles(302, 404, 200, 200, 200), obj="own"),
    Row("exams/<int:exam_id>/report/", "GET", roles(302, 404, 404, 404, 200), obj="other"),
    Row(SESSION_PDF, "GET", roles(302, 404, 200, 200, 200), obj="own"),
    Row(SESSION_PDF, "GET", roles(302, 404, 404, 404, 200), obj="other"),
    # The session review page and its private media refuse students by role (403, whatever the id).
    Row(REVIEW_PAGE, "GET", roles(302, 403, 200, 200, 200), obj="own"),
    Row(REVIEW_PAGE, "GET", roles(302, 403, 404, 404, 200), obj="other"),
    Row(f"{REVIEW_PAGE}room-scan", "GET", roles(302, 403, 200, 200, 200), obj="own"),
    Row(f"{REVIEW_PAGE}room-scan", "GET", roles(302, 403, 404, 404, 200), obj="other"),
    Row(EVENT_SNAPSHOT, "GET", roles(302, 403, 200, 200, 200), obj="own"),
    Row(EVENT_SNAPSHOT, "GET", roles(302, 403, 404, 404, 200), obj="other"),
    # The live monitor: every role that monitors gets the page (scoped to what it watches).
    Row("proctoring/monitor/", "GET", roles(302, 403, 200, 200, 200)),
]


@pytest.fixture
def private_media(targets, settings, tmp_path) -> None:
    """A snapshot on Stu's and on Hal's event, a room scan on both sessions."""
    settings.MEDIA_ROOT = tmp_path
    for ids in (targets["own"], targets["other_default"]):
        ProctoringEvent.objects.filter(pk=ids["event_id"]).update(
            snapshot=store_encrypted(b"\xff\xd8\xff frame", folder="snapshots")
        )
        ExamSession.objects.filter(pk=ids["session_id"]).update(
            room_scan=store_encrypted(b"\x1a\x45\xdf\xa3 webm", folder="room-scans")
        )


@pytest.mark.parametrize(
    ("row", "role"),
    [(row, role) for row in PAGE_MATRIX for role in row.expected],
    ids=lambda value: f"{value.method} {value.route} {value.obj or ''}" if isinstance(value, Row) else value,
)
def test_role_gets_the_expected_status_on_pages(
    client, targets, private_media, settings, tmp_path, row: Row, role: str
):
    settings.MEDIA_ROOT = tmp_path
    if role != "anonymous":
        client.force_login(targets["people"][role])
    response = getattr(client, row.method.lower())(row_path(row, targets, role))
    assert response.status_code == row.expected[role], response.content[:300]
