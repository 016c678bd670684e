"""Joining a course with its join code: a student enters it on a page linked from the dashboard
(or POST /api/courses/join) and is enrolled; a wrong code says so and is counted per account
(locked out after 10 in 15 minutes) and per client address (after 30), never a right one; a
rotated code stops working; staff cannot join as students."""

from __future__ import annotations

import pytest

from accounts.tests.factories import UserFactory
from exams.models import Enrolment

pytestmark = pytest.mark.django_db

SCHOOL = "198.51.100.20"  # one NAT address for a whole school


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


def test_wrong_codes_are_limited_and_then_even_the_right_one_waits(client, world, settings):
    client.force_login(world.sid)
    for _ in range(settings.JOIN_CODE_FAILURES_PER_ACCOUNT):
        assert client.post("/exams/courses/join/", {"code": "ZZZZ2222"}).status_code == 404
    locked = client.post("/exams/courses/join/", {"code": world.physics.course.join_code})
    assert locked.status_code == 429
    assert 890 <= int(locked["Retry-After"]) <= 900
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


def join(api, student, code: str, address: str = SCHOOL):
    api.force_authenticate(student)
    return api.post("/api/courses/join", {"code": code}, format="json", REMOTE_ADDR=address)


def test_one_address_guessing_with_a_new_account_per_try_is_locked_out(api, world, settings):
    settings.JOIN_CODE_FAILURES_PER_IP = 5
    guessers = UserFactory.create_batch(7, role="student")
    for guesser in guessers[:5]:
        assert join(api, guesser, "ZZZZ2222").status_code == 404
    # A sixth fresh account from the same address: refused, and a right code (one nobody here
    # has used) is refused the same way, so the guesser cannot tell it is right.
    for code in ("ZZZZ3333", world.history.course.join_code):
        refused = join(api, guessers[5], code)
        assert refused.status_code == 429
        body = refused.json()
        assert body["success"] is False
        assert body["error"]["code"] == "JOIN_CODE_LOCKED"
        assert (
            body["error"]["message"]
            == "Too many wrong join codes from your network. Try again in 15 minutes."
        )
        assert 890 <= int(refused["Retry-After"]) <= 900
    assert set(sources(world.history.course)) == {"hal@school.example"}
    # The lock is the address's: the same accounts elsewhere are not locked.
    assert join(api, guessers[6], world.history.course.join_code, address="203.0.113.5").status_code == 200


def test_a_class_behind_one_address_with_the_right_code_is_never_blocked_by_others_typos(
    api, world, settings
):
    settings.JOIN_CODE_FAILURES_PER_IP = 5
    course = world.chemistry.course
    class_ = UserFactory.create_batch(12, role="student")
    # Right codes count for nothing: the whole class joins, typing mistakes along the way.
    for number, student in enumerate(class_[:8]):
        if number % 2:
            assert join(api, student, "CHEM1STR").status_code == 404
        assert join(api, student, course.join_code).status_code == 200
    # A fifth typo in the window locks the address ...
    assert join(api, class_[8], "CHEM15TR").status_code == 404
    assert join(api, class_[9], "CHEM15TR").status_code == 429
    # ... yet the code the class is joining with still lets the latecomers in.
    for student in class_[8:]:
        assert join(api, student, course.join_code).json()["data"]["newlyEnrolled"] is True
    assert sum(source == "join-code" for source in sources(course).values()) == 12


def test_an_address_lock_ends_after_its_time(api, world, settings, clock):
    settings.JOIN_CODE_FAILURES_PER_IP = 3
    students = UserFactory.create_batch(5, role="student")
    for student in students[:3]:
        join(api, student, "ZZZZ2222")
    assert int(join(api, students[3], world.physics.course.join_code)["Retry-After"]) == 900
    clock.shift(600)
    assert int(join(api, students[3], world.physics.course.join_code)["Retry-After"]) == 300
    clock.shift(300)
    assert join(api, students[4], world.physics.course.join_code).status_code == 200


def test_the_join_page_is_limited_per_address_too(client, world, settings):
    settings.JOIN_CODE_FAILURES_PER_IP = 3
    for student in UserFactory.create_batch(3, role="student"):
        client.force_login(student)
        assert (
            client.post("/exams/courses/join/", {"code": "ZZZZ2222"}, REMOTE_ADDR=SCHOOL).status_code == 404
        )
    client.force_login(world.sid)
    locked = client.post("/exams/courses/join/", {"code": world.physics.course.join_code}, REMOTE_ADDR=SCHOOL)
    assert locked.status_code == 429
    assert 890 <= int(locked["Retry-After"]) <= 900
    assert "Too many wrong join codes from your network. Try again in 15 minutes." in locked.content.decode()
    elsewhere = client.post(
        "/exams/courses/join/", {"code": world.physics.course.join_code}, REMOTE_ADDR="203.0.113.5"
    )
    assert elsewhere.status_code == 302
