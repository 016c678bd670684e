"""Joining a course with its join code: a student enters it on a page linked from the dashboard
(or POST /api/courses/join) and is enrolled; a wrong code says so and is counted (locked out
after 10 in 15 minutes); a rotated code stops working; staff cannot join as students."""

from __future__ import annotations

import pytest

from exams.models import Enrolment
from exams.services import JOIN_CODE_FAILURES

pytestmark = pytest.mark.django_db


def sources(course) -> dict[str, str]:
    return {e.student.email: e.source for e in Enrolment.objects.filter(course=course)}


def test_the_dashboard_links_to_the_join_page(client, world):
    client.force_login(world.sid)
    assert (
        '<a href="/exams/courses/join/" id="join-course">Join a course</a>'
        in client.get("/").content.decode()
    )
    assert client.get("/exams/courses/join/").status_code == 200


def test_a_student_joins_a_course_with_its_code_and_meets_its_exams(client, world):
    physics = world.physics.course
    client.force_login(world.sid)
    # Typed from the board: lower case and a space are forgiven.
    code = physics.join_code.lower()[:4] + " " + physics.join_code.lower()[4:]
    response = client.post("/exams/courses/join/", {"code": code})
    assert (response.status_code, response.url) == (302, "/")
    assert sources(physics)["sid@school.example"] == "join-code"
    page = client.get("/").content.decode()
    assert "You joined PHY-101 Physics 101." in page
    assert "Physics final" in page
    again = client.post("/exams/courses/join/", {"code": physics.join_code}, follow=True)
    assert "You are already in PHY-101 Physics 101." in again.content.decode()
    assert Enrolment.objects.filter(course=physics, student=world.sid).count() == 1


def test_a_wrong_code_says_so_and_enrols_nobody(client, world):
    client.force_login(world.sid)
    response = client.post("/exams/courses/join/", {"code": "ZZZZ2222"})
    assert response.status_code == 404
    assert "No course has this join code. Check it with your teacher." in response.content.decode()
    assert not Enrolment.objects.filter(student=world.sid).exists()


def test_wrong_codes_are_limited_and_then_even_the_right_one_waits(client, world):
    client.force_login(world.sid)
    for _ in range(JOIN_CODE_FAILURES):
        assert client.post("/exams/courses/join/", {"code": "ZZZZ2222"}).status_code == 404
    locked = client.post("/exams/courses/join/", {"code": world.physics.course.join_code})
    assert locked.status_code == 429
    assert "Too many wrong join codes. Try again in 15 minutes." in locked.content.decode()
    assert not Enrolment.objects.filter(student=world.sid).exists()
    # Another student is not locked out by Sid's guesses.
    client.force_login(world.hal)
    assert client.post("/exams/courses/join/", {"code": world.physics.course.join_code}).status_code == 302


def test_a_rotated_code_stops_working(client, world):
    physics = world.physics.course
    old = physics.join_code
    client.force_login(world.tess)
    response = client.post(
        "/admin/exams/course/",
        {"action": "new_join_code", "_selected_action": [physics.pk]},
        follow=True,
    )
    physics.refresh_from_db()
    assert physics.join_code != old and len(physics.join_code) == 8
    assert f"PHY-101 Physics 101: the join code is now {physics.join_code}." in response.content.decode()
    client.force_login(world.sid)
    assert client.post("/exams/courses/join/", {"code": old}).status_code == 404
    assert client.post("/exams/courses/join/", {"code": physics.join_code}).status_code == 302
    assert sources(physics)["sid@school.example"] == "join-code"


def test_a_teacher_cannot_rotate_another_teachers_course_code(client, world):
    physics = world.physics.course
    old = physics.join_code
    client.force_login(world.vic)
    client.post("/admin/exams/course/", {"action": "new_join_code", "_selected_action": [physics.pk]})
    physics.refresh_from_db()
    assert physics.join_code == old


def test_staff_cannot_join_as_students(client, api, world):
    history = world.history.course
    for staff in (world.tess, world.pat, world.ada):
        client.force_login(staff)
        assert client.post("/exams/courses/join/", {"code": history.join_code}).status_code == 403
        api.force_authenticate(staff)
        response = api.post("/api/courses/join", {"code": history.join_code}, format="json")
        assert (response.status_code, response.json()["error"]["code"]) == (403, "PERMISSION_DENIED")
    assert set(sources(history)) == {"hal@school.example"}


def test_a_student_joins_through_the_api(api, world):
    chemistry = world.chemistry.course
    api.force_authenticate(world.sid)
    response = api.post("/api/courses/join", {"code": chemistry.join_code}, format="json")
    assert response.status_code == 200
    assert response.json()["data"] == {
        "id": str(chemistry.pk),
        "title": "Chemistry 101",
        "code": "CHE-101",
        "term": "",
        "newlyEnrolled": True,
    }
    wrong = api.post("/api/courses/join", {"code": "ZZZZ2222"}, format="json")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (404, "JOIN_CODE_UNKNOWN")
    assert sources(chemistry) == {"cat@school.example": "admin", "sid@school.example": "join-code"}
